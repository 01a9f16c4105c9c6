-- Relays one message: checks sender and recipient, stamps the next sequence number,
-- logs and publishes the frame, restarts the idle timer, refreshes every TTL.
-- ARGV: from, to ('' for everyone), encoded Message body. Answers { 'ok', seq }.
if not load() then
  return { 'err', 'unknown_room' }
end
local ending = due()
if ending then
  destroy(ending)
  return { 'err', 'unknown_room' }
end
if not has(ARGV[1]) or (ARGV[2] ~= '' and not has(ARGV[2])) then
  return { 'err', 'unknown_member' }
end
M.active = ms(NOW)
redis.call('HSET', META, 'active', M.active)
local seq = emit(ARGV[3])
expire_all()
return { 'ok', seq }
