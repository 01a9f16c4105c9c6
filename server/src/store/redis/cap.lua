-- Host: the most members the room lets in from now on, never more than its limit in
-- force (`lm`); 0 lifts the host's cap. A: host, max_members. Answers { 'ok' }.
local refused = open({ host = A.host })
if refused then
  return refused
end
local cap = num(A.max_members)
if cap > 0 then
  redis.call('HSET', META, 'cap', math.min(cap, num(M.lm)))
else
  redis.call('HDEL', META, 'cap')
end
expire_all()
return { 'ok' }
