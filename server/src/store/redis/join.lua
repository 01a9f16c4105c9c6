-- Adds a member (emitting `Joined`) or gives a member its place back.
-- A: see `Join` in scripts.rs (resume_member and after are '' when absent).
-- Answers { 'ok', you, seq, resumed, locked, host, limits[6], members, evicted,
-- logged }.
local refused = open({})
if refused then
  return refused
end
if sweep() then
  return { 'err', 'unknown_room' }
end
local deadline = ms(NOW + num(A.presence))
local you, seq, resumed
-- The catch-up is read before this member's own `Joined` is logged, so that arrival
-- cannot push a wanted event out of the log.
local logged, evicted = {}, M.evicted
if A.after ~= '' then
  logged = replay(num(A.after), num(M.seq))
end
if A.resume_member ~= '' then
  you = A.resume_member
  local digest = redis.call('HGET', INFO, 't:' .. you)
  if not digest or digest ~= redis.sha1hex(A.resume_token) then
    return { 'err', 'resume_refused' }
  end
  redis.call('HSET', INFO, 's:' .. you, A.session)
  redis.call('ZREM', GONE, you)
  redis.call('ZADD', LIVE, deadline, you)
  note_presence()
  seq, resumed = num(M.seq), 1
else
  you = A.member
  -- Once the host renewed the invitation, only the current join proof admits.
  if M.jp and A.proof ~= M.jp then
    return { 'err', 'invite_changed' }
  end
  if M.locked == '1' then
    return { 'err', 'locked' }
  end
  if count(LIVE) + count(GONE) >= math.min(num(M.lm), num(M.cap) or num(M.lm)) then
    return { 'err', 'full' }
  end
  if has(you) then
    -- Two random 64-bit ids collided; the client simply tries again.
    return { 'err', 'unavailable' }
  end
  redis.call('ZADD', LIVE, deadline, you)
  note_presence()
  seq, resumed = num(M.seq), 0
  local joined = emit(A.joined)
  redis.call('HSET', INFO, 't:' .. you, redis.sha1hex(A.token), 's:' .. you, A.session,
    'o:' .. you, joined, 'l:' .. you, A.left, 'h:' .. you, A.hosted)
end
expire_all()
return { 'ok', you, seq, resumed, num(M.locked), M.hostm,
  { M.lm, M.li, M.ll, M.lg, M.lp, M.lf }, members(), evicted, logged }
