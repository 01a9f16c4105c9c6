-- Host: stops or allows new joins and emits `Locked`.
-- A: host, locked ('1' or '0'), event (the encoded `Locked`). Answers { 'ok' }.
local refused = open({ host = A.host })
if refused then
  return refused
end
redis.call('HSET', META, 'locked', A.locked)
emit(A.event)
expire_all()
return { 'ok' }
