-- A member takes the host seat with the hash of a fresh secret: the member a hand-over
-- named (its seat has no hash yet), or anyone once the seat's member has no place.
-- `HostChanged` is emitted when the seat's member changes.
-- A: member, host (the new hash), event (the encoded `HostChanged { member }`).
-- Answers { 'ok' }.
local refused = open({ members = { A.member } })
if refused then
  return refused
end
local named = M.hostm == A.member and M.host == ''
if not named and has(M.hostm) then
  return { 'err', 'bad_host' }
end
redis.call('HSET', META, 'host', A.host, 'hostm', A.member)
if M.hostm ~= A.member then
  emit(A.event)
end
expire_all()
return { 'ok' }
