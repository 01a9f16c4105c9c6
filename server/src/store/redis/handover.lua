-- Host: gives the host seat to another member and emits `HostChanged`. The presented
-- secret stops working at once; the seat waits for the named member's claim.
-- A: host, to, event (the encoded `HostChanged { to }`). Answers { 'ok' }.
local refused = open({ host = A.host, members = { A.to } })
if refused then
  return refused
end
redis.call('HSET', META, 'host', '', 'hostm', A.to)
emit(A.event)
expire_all()
return { 'ok' }
