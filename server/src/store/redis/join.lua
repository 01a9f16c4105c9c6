-- Adds a member (emitting `Joined`) or gives a member its place back.
-- ARGV: member, session, resume token, Joined body, Left{Disconnected} body,
-- heartbeat deadline (ms from now), resumed member ('' for none), its token,
-- catch-up cursor ('' for none).
-- Answers { 'ok', you, seq, resumed, locked, host, limits[6], members, evicted, frames }.
if not load() then
  return { 'err', 'unknown_room' }
end
local ending = due()
if ending then
  destroy(ending)
  return { 'err', 'unknown_room' }
end
if sweep() then
  return { 'err', 'unknown_room' }
end
local session, deadline = ARGV[2], ms(NOW + num(ARGV[6]))
local you, seq, resumed
-- The catch-up is read before this member's own `Joined` is logged, so that arrival
-- cannot push a wanted event out of the log.
local frames, evicted = {}, M.evicted
if ARGV[9] ~= '' then
  frames = replay(num(ARGV[9]), num(M.seq))
end
if ARGV[7] ~= '' then
  you = ARGV[7]
  local digest = redis.call('HGET', INFO, 't:' .. you)
  if not digest or digest ~= redis.sha1hex(ARGV[8]) then
    return { 'err', 'resume_refused' }
  end
  redis.call('HSET', INFO, 's:' .. you, session)
  redis.call('ZREM', GONE, you)
  redis.call('ZADD', LIVE, deadline, you)
  note_presence()
  seq, resumed = num(M.seq), 1
else
  you = ARGV[1]
  if M.locked == '1' then
    return { 'err', 'locked' }
  end
  if redis.call('ZCARD', LIVE) + redis.call('ZCARD', GONE) >= num(M.lm) then
    return { 'err', 'full' }
  end
  if has(you) then
    -- Two random 64-bit ids collided; the client simply tries again.
    return { 'err', 'unavailable' }
  end
  redis.call('ZADD', LIVE, deadline, you)
  note_presence()
  seq, resumed = num(M.seq), 0
  local joined = emit(ARGV[4])
  redis.call('HSET', INFO, 't:' .. you, redis.sha1hex(ARGV[3]), 's:' .. you, session,
    'o:' .. you, joined, 'l:' .. you, ARGV[5])
end
expire_all()
return { 'ok', you, seq, resumed, M.locked, M.hostm,
  { M.lm, M.li, M.ll, M.lg, M.lp, M.lf }, members(), evicted, frames }
