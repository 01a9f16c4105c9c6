-- Host: removes a member and emits `Left{Kicked}`; the instance holding the member's
-- connection closes it when the event reaches it.
-- A: host, member, event (the encoded `Left{Kicked}`).
-- Answers { 'ok', 1 when nobody is connected any more }.
local refused = open({ host = A.host, members = { A.member } })
if refused then
  return refused
end
return remove(A.member, A.event)
