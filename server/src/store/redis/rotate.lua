-- Host: renews the room's invitation: from now on a newcomer must show the join proof
-- whose hash this is (join.lua); resuming members are not asked for it. The host's word
-- sets the proof and its renewal number whatever number the room held: it replaces a
-- moderator's (modkick.lua), which may be wrong or carry any number.
-- A: host, proof (the 32-byte hash), renewal (its pass's number). Answers { 'ok' }.
local refused = open({ host = A.host })
if refused then
  return refused
end
redis.call('HSET', META, 'jp', A.proof, 'jr', A.renewal)
expire_all()
return { 'ok' }
