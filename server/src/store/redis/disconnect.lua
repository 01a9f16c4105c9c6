-- A member's connection dropped: its place is kept for the grace period, unless the
-- report comes from a session the member has since replaced.
-- ARGV: member, session. Answers { 'ok', 1 when nobody is connected any more }.
if not load() then
  return { 'err', 'unknown_room' }
end
local member = ARGV[1]
if redis.call('HGET', INFO, 's:' .. member) == ARGV[2] and redis.call('ZSCORE', LIVE, member) then
  redis.call('ZREM', LIVE, member)
  redis.call('ZADD', GONE, ms(NOW + num(M.grace)), member)
  note_presence()
  expire_all()
end
return { 'ok', M.empty and 1 or 0 }
