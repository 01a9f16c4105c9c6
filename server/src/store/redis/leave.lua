-- A member leaves for good and `Left{Left}` is emitted.
-- A: member, event (the encoded `Left{Left}`).
-- Answers { 'ok', 1 when nobody is connected any more }.
local refused = open({ members = { A.member } })
if refused then
  return refused
end
return remove(A.member, A.event)
