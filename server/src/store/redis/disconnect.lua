-- A member's connection dropped: its place is kept for the grace period, unless the
-- report comes from a session the member has since replaced.
-- A: member, session. Answers { 'ok', 1 when nobody is connected any more }.
local refused = open({})
if refused then
  return refused
end
if redis.call('HGET', INFO, 's:' .. A.member) == A.session
    and redis.call('ZSCORE', LIVE, A.member) then
  redis.call('ZREM', LIVE, A.member)
  redis.call('ZADD', GONE, ms(NOW + num(M.grace)), A.member)
  note_presence()
  expire_all()
end
return { 'ok', M.empty and 1 or 0 }
