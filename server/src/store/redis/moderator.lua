-- Host: makes a member a moderator (`on` '1') or takes that back ('0'); the mark is
-- forgotten with the member's place. A: host, member, on. Answers { 'ok' }.
local refused = open({ host = A.host, members = { A.member } })
if refused then
  return refused
end
if A.on == '1' then
  redis.call('HSET', INFO, 'm:' .. A.member, '1')
else
  redis.call('HDEL', INFO, 'm:' .. A.member)
end
expire_all()
return { 'ok' }
