-- Short-code nameplates of the room (PROTOCOL.md §11.2), kept in META so they go with
-- the room (one DEL) and live under its TTL:
--   c:<nameplate>  "<member> <session> <expires ms> <burned 0|1> <exchanges>"
--   x:<exchange>   "<nameplate> <joiner instance>"
-- A: op, and per op:
--   offer  member, session, nameplate, ttl, tomb, per_room  -> { 'ok', 'go' | 'toomany' }
--   end    member, nameplate, burn                          -> { 'ok', 'freed' } when revoked | { 'ok' }
--   open   nameplate, exchange, instance, max, frame        -> { 'ok', 'go' | refusal }
--   relay  nameplate, exchange, frame                       -> { 'ok', 'go' | refusal }
--   reply  member, exchange                                 -> { 'ok', nameplate, instance } | { 'ok' }
-- `frame` is the encoded `ServerFrame::CodeMessage` for the member, published on the
-- room's channel as `code:<member>:<session>:<frame>`.
local refused = open({})
if refused then
  return refused
end

local function plate(n)
  local v = redis.call('HGET', META, 'c:' .. n)
  if not v then
    return nil
  end
  local member, session, expires, burned, count = string.match(v, '^(%d+) (%d+) (%d+) (%d) (%d+)$')
  return { member = member, session = session, expires = num(expires), burned = burned == '1',
    count = num(count) }
end

local function store(n, p)
  redis.call('HSET', META, 'c:' .. n, p.member .. ' ' .. p.session .. ' ' .. ms(p.expires) .. ' '
    .. (p.burned and '1' or '0') .. ' ' .. p.count)
end

-- Why a joiner may not use nameplate p now, or nil.
local function refusal(p)
  if not p then
    return 'unknown'
  end
  if NOW >= p.expires then
    return 'expired'
  end
  if p.burned then
    return 'burned'
  end
  if redis.call('HGET', INFO, 's:' .. p.member) ~= p.session then
    return 'unknown'
  end
  if not redis.call('ZSCORE', LIVE, p.member) then
    return 'offline'
  end
  return nil
end

local function deliver(p, frame)
  redis.call(PUBLISH, CHANNEL, 'code:' .. p.member .. ':' .. p.session .. ':' .. frame)
end

if A.op == 'offer' then
  if not has(A.member) then
    return { 'err', 'unknown_member' }
  end
  local fields = redis.call('HKEYS', META)
  local live, gone = 0, {}
  for _, f in ipairs(fields) do
    local n = string.match(f, '^c:(%d+)$')
    if n then
      local p = plate(n)
      if NOW >= p.expires + num(A.tomb) then
        gone[n] = true
        redis.call('HDEL', META, f)
      elseif NOW < p.expires and not p.burned then
        live = live + 1
      end
    end
  end
  for _, f in ipairs(fields) do
    local x = string.match(f, '^x:%d+$')
    if x then
      local n = string.match(redis.call('HGET', META, f) or '', '^(%d+) ')
      if not n or gone[n] then
        redis.call('HDEL', META, f)
      end
    end
  end
  if live >= num(A.per_room) then
    return { 'ok', 'toomany' }
  end
  store(A.nameplate, { member = A.member, session = A.session, expires = NOW + num(A.ttl),
    burned = false, count = 0 })
  return { 'ok', 'go' }
end

if A.op == 'end' then
  local p = plate(A.nameplate)
  if p and p.member == A.member then
    if A.burn == '1' then
      p.burned = true
      store(A.nameplate, p)
    else
      redis.call('HDEL', META, 'c:' .. A.nameplate)
      return { 'ok', 'freed' }
    end
  end
  return { 'ok' }
end

if A.op == 'open' then
  local p = plate(A.nameplate)
  local why = refusal(p)
  if why then
    return { 'ok', why }
  end
  if p.count >= num(A.max) then
    return { 'ok', 'burned' }
  end
  p.count = p.count + 1
  store(A.nameplate, p)
  redis.call('HSET', META, 'x:' .. A.exchange, A.nameplate .. ' ' .. A.instance)
  deliver(p, A.frame)
  return { 'ok', 'go' }
end

if A.op == 'relay' then
  local x = redis.call('HGET', META, 'x:' .. A.exchange)
  if not x or string.match(x, '^(%d+) ') ~= A.nameplate then
    return { 'ok', 'unknown' }
  end
  local p = plate(A.nameplate)
  local why = refusal(p)
  if why then
    return { 'ok', why }
  end
  deliver(p, A.frame)
  return { 'ok', 'go' }
end

if A.op == 'reply' then
  local x = redis.call('HGET', META, 'x:' .. A.exchange)
  if not x then
    return { 'ok' }
  end
  local n, instance = string.match(x, '^(%d+) (%d+)$')
  local p = n and plate(n)
  if not p or p.member ~= A.member then
    return { 'ok' }
  end
  return { 'ok', n, instance }
end

return { 'err', 'unavailable' }
