-- Creates a room with its creator as host and first member, and emits its `Joined`.
-- A: see `Create` in scripts.rs. Answers { 'ok' }.
if redis.call('EXISTS', META) == 1 then
  return { 'err', 'exists' }
end
local member = A.member
redis.call('HSET', META,
  'host', A.host, 'hostm', member, 'locked', '0', 'seq', '0', 'bytes', '0',
  'evicted', '0', 'active', ms(NOW), 'idle', ms(num(A.idle_secs) * 1000),
  'deadline', ms(NOW + num(A.lifetime_secs) * 1000),
  'grace', A.grace, 'slack', A.slack, 'buf', A.buffer, 'bufbytes', A.buffer_bytes,
  'lm', A.max_members, 'li', A.idle_secs, 'll', A.lifetime_secs, 'lg', A.grace_secs,
  'lp', A.max_payload, 'lf', A.max_file)
load()
redis.call('ZADD', LIVE, ms(NOW + num(A.presence)), member)
local seq = emit(A.joined)
-- The resume token is kept only as a digest: whoever reads Redis cannot resume.
redis.call('HSET', INFO, 't:' .. member, redis.sha1hex(A.token), 's:' .. member, A.session,
  'o:' .. member, seq, 'l:' .. member, A.left, 'h:' .. member, A.hosted)
-- Every key exists from now on, for as long as the room does (see HOLD).
hold()
expire_all()
return { 'ok' }
