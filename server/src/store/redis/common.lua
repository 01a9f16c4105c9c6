-- Prelude of every vroom script: the room's keys, its arguments, its clock, and the
-- steps several scripts share. The Rust side (scripts.rs) prepends it to each script
-- body, so each script is still one EVALSHA: one round trip, one atomic step for the
-- room.
--
-- KEYS (all tagged `{<room hex>}`, so one room lives in one Cluster slot):
--   1 meta  HASH   settings, host hash, seq counter, activity and emptiness times,
--                  `jp`: the hash of the join proof once the invitation was renewed,
--                  `jr`: the renewal number of that proof's pass
--   2 live  ZSET   connected members -> heartbeat deadline (ms, Redis clock)
--   3 gone  ZSET   dropped members   -> end of their grace (ms, Redis clock)
--   4 info  HASH   per member: t:<id> resume-token digest, s:<id> session,
--                  o:<id> joining order, l:<id> its encoded `Left{Disconnected}` event,
--                  h:<id> its encoded `HostChanged` event (the relay's succession)
--                  m:<id> set while the host has made it a moderator (PROTOCOL.md §7.6)
--   5 log   STREAM encoded events for catch-up: entry id `<seq>-0`, field `e`
-- Each of them exists for as long as the room does (see HOLD below).
-- The pub/sub channel is `vroom:{<room hex>}:ch`, in the same slot (a sharded channel
-- on a Redis Cluster).
--
-- ARGV holds name, value, name, value...: a script reads its arguments from `A` by the
-- names its request struct in scripts.rs writes, and every script gets `sharded` (1 on a
-- Redis Cluster) and `floor` (the largest sequence number its instance delivered).
--
-- Events are opaque here: the Rust side encodes them (vroom_shared::wire), and the
-- scripts store, log and publish the bytes with the sequence number they give them.
-- Channel messages: `<seq>:<event>` for a sequenced event, `closed:<reason>` when the
-- room ends (`terminated`, `idle_timeout` or `max_lifetime`).
--
-- Every script that writes ends with `expire_all`, so no key ever lives without a TTL.

local META, LIVE, GONE, INFO, LOG = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local CHANNEL = string.sub(META, 1, -5) .. 'ch'

local A = {}
for i = 1, #ARGV, 2 do
  A[ARGV[i]] = ARGV[i + 1]
end

-- On a Redis Cluster the room's channel is a sharded one (`sharded` is 1): its messages
-- go only to the shard that owns the room's slot.
local PUBLISH = A.sharded == '1' and 'SPUBLISH' or 'PUBLISH'

local function num(v)
  return tonumber(v)
end

-- Milliseconds as an integer string: Lua numbers are doubles and tostring may use
-- an exponent.
local function ms(v)
  return string.format('%.0f', v)
end

-- One clock for every instance: Redis's.
local function clock()
  local t = redis.call('TIME')
  return num(t[1]) * 1000 + math.floor(num(t[2]) / 1000)
end

local NOW = clock()

-- The room's meta fields, read once per script.
local M = {}
local FIELDS = { 'deadline', 'active', 'idle', 'grace', 'slack', 'empty', 'seq', 'evicted',
  'bytes', 'buf', 'bufbytes', 'locked', 'host', 'hostm', 'lm', 'li', 'll', 'lg', 'lp', 'lf',
  'jp', 'jr', 'cap' }

local function load()
  if redis.call('EXISTS', META) == 0 then
    return false
  end
  local values = redis.call('HMGET', META, unpack(FIELDS))
  for i, field in ipairs(FIELDS) do
    M[field] = values[i]
  end
  -- The calling instance delivered events up to `floor`. Above the room's counter, Redis
  -- lost them (a replica promoted before it had them): number on above them, never
  -- twice, and count them as left from the log, so a catch-up reports them as a gap.
  local floor = num(A.floor) or 0
  if floor > num(M.seq) then
    M.seq = ms(floor)
    if floor > (num(M.evicted) or 0) then
      M.evicted = ms(floor)
    end
    redis.call('HSET', META, 'seq', M.seq, 'evicted', M.evicted)
  end
  return true
end

local function has(member)
  return redis.call('ZSCORE', LIVE, member) or redis.call('ZSCORE', GONE, member)
end

-- While a Redis Cluster moves the room's slot to another master, either master runs a
-- script only if it holds every key the script names (else it answers TRYAGAIN, for as
-- long as the move lasts, or the old one redirects with ASK when it holds none), and
-- inside a script the old master refuses a command on a key it does not hold. So no
-- key of the room is ever missing while the room lives: `live` and `gone` each keep
-- the placeholder HOLD (score +inf, never a member id) besides their members, and
-- `info` a field HOLD; the log always keeps its newest event, and `meta` its settings.
-- Members are read by score below +inf, so HOLD is never taken for one.
local HOLD = 'hold'
local BELOW_HOLD = '(+inf'

-- Puts the placeholders in (at creation, and on every tick for a room made without).
local function hold()
  redis.call('ZADD', LIVE, 'NX', '+inf', HOLD)
  redis.call('ZADD', GONE, 'NX', '+inf', HOLD)
  redis.call('HSETNX', INFO, HOLD, '1')
end

-- How many members `set` (`live` or `gone`) holds.
local function count(set)
  return redis.call('ZCOUNT', set, '-inf', BELOW_HOLD)
end

-- The member of `set` with the lowest score, as { member, score } ({} when none).
local function earliest(set)
  return redis.call('ZRANGE', set, '-inf', BELOW_HOLD, 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')
end

-- The member of `set` with the highest score, as { member, score } ({} when none).
local function latest(set)
  return redis.call('ZRANGE', set, BELOW_HOLD, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1,
    'WITHSCORES')
end

-- Every member of `set`, by score.
local function all_of(set)
  return redis.call('ZRANGE', set, '-inf', BELOW_HOLD, 'BYSCORE')
end

-- Every key of the room expires when the room would end if nobody acted on it any
-- more: at its maximum lifetime, its idle timeout, or when its members' heartbeats
-- and graces run out (an instance that dies stops heartbeating). `slack` leaves the
-- ticking instances time to end the room themselves and tell everyone why; the TTL
-- is the safety net when no instance is left.
local function expire_all()
  local at = math.min(num(M.deadline), num(M.active) + num(M.idle))
  local top = latest(LIVE)
  local presence
  if top[2] then
    presence = num(top[2]) + num(M.grace)
  elseif M.empty then
    presence = num(M.empty) + num(M.grace)
  else
    presence = NOW + num(M.grace)
  end
  local expire_at = ms(math.min(at, presence) + num(M.slack))
  for _, key in ipairs(KEYS) do
    redis.call('PEXPIREAT', key, expire_at)
  end
end

-- Drops the oldest logged events while the log is over its count or byte cap
-- (always keeping the newest).
local function trim(added)
  local bytes = (num(M.bytes) or 0) + added
  local len = redis.call('XLEN', LOG)
  local evicted = M.evicted
  while len > 1 and (len > num(M.buf) or bytes > num(M.bufbytes)) do
    local oldest = redis.call('XRANGE', LOG, '-', '+', 'COUNT', 1)[1]
    redis.call('XDEL', LOG, oldest[1])
    bytes = bytes - #oldest[2][2]
    evicted = string.match(oldest[1], '^(%d+)')
    len = len - 1
  end
  M.bytes = bytes
  if evicted then
    M.evicted = evicted
    redis.call('HSET', META, 'bytes', bytes, 'evicted', evicted)
  else
    redis.call('HSET', META, 'bytes', bytes)
  end
end

-- Sequences one encoded event: numbers it, logs it and publishes it to every
-- instance. Returns its sequence number.
local function emit(event)
  local seq = redis.call('HINCRBY', META, 'seq', 1)
  M.seq = seq
  redis.call('XADD', LOG, ms(seq) .. '-0', 'e', event)
  trim(#event)
  redis.call(PUBLISH, CHANNEL, ms(seq) .. ':' .. event)
  return seq
end

-- Deletes every key of the room in one command and tells every instance to close its
-- connections, saying why.
local function destroy(reason)
  redis.call('DEL', META, LIVE, GONE, INFO, LOG)
  redis.call(PUBLISH, CHANNEL, 'closed:' .. reason)
end

-- Why the room must end now (its lifetime or idle timeout ran out), or nil.
local function due()
  if NOW >= num(M.deadline) then
    return 'max_lifetime'
  end
  if NOW >= num(M.active) + num(M.idle) then
    return 'idle_timeout'
  end
  return nil
end

-- The host hash stored at creation against the one made from the presented secret.
-- Both are SHA-256 outputs, so the time a comparison takes says nothing useful about
-- the secret.
local function is_host(hash)
  return M.host == hash
end

-- Whether `member` holds a place as a moderator (its `m:` field goes with the place).
local function is_moderator(member)
  return redis.call('HEXISTS', INFO, 'm:' .. member) == 1 and has(member)
end

-- How every script on an existing room begins: loads the room, ends it first if its
-- lifetime or idle timeout has run out (as the in-process store's timer would have),
-- then checks the host hash (`host`) and that each of `members` holds a place.
-- Returns the refusal to answer, or nil to go on.
local function open(checks)
  if not load() then
    return { 'err', 'unknown_room' }
  end
  local ending = due()
  if ending then
    destroy(ending)
    return { 'err', 'unknown_room' }
  end
  if checks.host and not is_host(checks.host) then
    return { 'err', 'bad_host' }
  end
  for _, member in ipairs(checks.members or {}) do
    if not has(member) then
      return { 'err', 'unknown_member' }
    end
  end
  return nil
end

-- How relaying a message or a chunk begins: the room is opened with its sender and its
-- one recipient (`to`, '' for everyone) checked, and its idle timer restarts. Returns
-- the refusal to answer, or nil to go on.
local function relay_from(from, to)
  local refused = open({ members = { from, to ~= '' and to or nil } })
  if refused then
    return refused
  end
  M.active = ms(NOW)
  redis.call('HSET', META, 'active', M.active)
  return nil
end

-- Starts the room's grace when nobody is connected any more; stops it when someone is.
local function note_presence()
  if count(LIVE) > 0 then
    if M.empty then
      redis.call('HDEL', META, 'empty')
      M.empty = nil
    end
  elseif not M.empty then
    M.empty = ms(NOW)
    redis.call('HSET', META, 'empty', M.empty)
  end
end

local function forget(member)
  redis.call('ZREM', LIVE, member)
  redis.call('ZREM', GONE, member)
  redis.call('HDEL', INFO, 't:' .. member, 's:' .. member, 'o:' .. member, 'l:' .. member,
    'h:' .. member, 'm:' .. member)
end

-- Every member holding a place, in joining order.
local function members()
  local list = all_of(LIVE)
  for _, member in ipairs(all_of(GONE)) do
    list[#list + 1] = member
  end
  local order = {}
  for _, member in ipairs(list) do
    order[member] = num(redis.call('HGET', INFO, 'o:' .. member)) or 0
  end
  table.sort(list, function(a, b) return order[a] < order[b] end)
  return list
end

-- The relay's own succession (PROTOCOL.md §7.6): once the seat's member has no place
-- any more, the seat goes to the member holding a place the longest, which alone may
-- claim it; its `HostChanged` is emitted.
local function succeed()
  if M.hostm == '' or has(M.hostm) then
    return
  end
  local heir = members()[1]
  if not heir then
    return
  end
  local event = redis.call('HGET', INFO, 'h:' .. heir)
  if not event then
    return
  end
  M.host, M.hostm = '', heir
  redis.call('HSET', META, 'host', '', 'hostm', heir)
  emit(event)
end

-- Expires what is due: connections whose instance stopped heartbeating count as
-- dropped (their grace runs from their last heartbeat deadline); dropped members
-- whose grace ran out leave; a room nobody came back to is deleted. Returns true
-- when the room is gone.
local function sweep()
  local stale = redis.call('ZRANGEBYSCORE', LIVE, '-inf', ms(NOW), 'WITHSCORES')
  for i = 1, #stale, 2 do
    redis.call('ZREM', LIVE, stale[i])
    redis.call('ZADD', GONE, ms(num(stale[i + 1]) + num(M.grace)), stale[i])
  end
  local expired = redis.call('ZRANGEBYSCORE', GONE, '-inf', ms(NOW))
  for _, member in ipairs(expired) do
    local left = redis.call('HGET', INFO, 'l:' .. member)
    forget(member)
    if left then
      emit(left)
    end
  end
  succeed()
  note_presence()
  if M.empty and NOW >= num(M.empty) + num(M.grace) then
    -- Nobody is connected to hear it; a connection caught mid-join hears the
    -- nearest reason, as with the in-process store.
    destroy('idle_timeout')
    return true
  end
  return false
end

-- Ends a member's place for good and emits its `Left` event. Answers as every script
-- that ends a place: { 'ok', 1 when nobody is connected any more }.
local function remove(member, left)
  forget(member)
  emit(left)
  succeed()
  note_presence()
  expire_all()
  return { 'ok', M.empty and 1 or 0 }
end

-- Logged events with sequence numbers in after+1..=upto, each `{ seq, event }`.
local function replay(after, upto)
  if upto <= after then
    return {}
  end
  local entries = redis.call('XRANGE', LOG, ms(after + 1) .. '-0', ms(upto) .. '-0')
  local logged = {}
  for i, entry in ipairs(entries) do
    logged[i] = { num(string.match(entry[1], '^(%d+)')), entry[2][2] }
  end
  return logged
end

-- ---- script body ----
