-- Host: renews the room's invitation: from now on a newcomer must show the join proof
-- whose hash this is (join.lua); resuming members are not asked for it.
-- A: host, proof (the 32-byte hash). Answers { 'ok' }.
local refused = open({ host = A.host })
if refused then
  return refused
end
redis.call('HSET', META, 'jp', A.proof)
expire_all()
return { 'ok' }
