-- Creates a room with its creator as host and first member, and emits its `Joined`.
-- ARGV: host hash, member, session, resume token, Joined body, Left{Disconnected}
-- body, heartbeat deadline (ms from now), limits (members, idle s, lifetime s, grace
-- s, payload, file), grace ms, slack ms, buffer events, buffer bytes.
if redis.call('EXISTS', META) == 1 then
  return { 'err', 'exists' }
end
local member = ARGV[2]
local idle_ms = num(ARGV[9]) * 1000
local life_ms = num(ARGV[10]) * 1000
redis.call('HSET', META,
  'host', ARGV[1], 'hostm', member, 'locked', '0', 'seq', '0', 'bytes', '0',
  'evicted', '0', 'active', ms(NOW), 'idle', ms(idle_ms), 'deadline', ms(NOW + life_ms),
  'grace', ARGV[14], 'slack', ARGV[15], 'buf', ARGV[16], 'bufbytes', ARGV[17],
  'lm', ARGV[8], 'li', ARGV[9], 'll', ARGV[10], 'lg', ARGV[11], 'lp', ARGV[12],
  'lf', ARGV[13])
load()
redis.call('ZADD', LIVE, ms(NOW + num(ARGV[7])), member)
local seq = emit(ARGV[5])
-- The resume token is kept only as a digest: whoever reads Redis cannot resume.
redis.call('HSET', INFO, 't:' .. member, redis.sha1hex(ARGV[4]), 's:' .. member, ARGV[3],
  'o:' .. member, seq, 'l:' .. member, ARGV[6])
expire_all()
return { 'ok' }
