-- Reads the logged events after a cursor for one member.
-- A: member, after. Answers { 'ok', seq, evicted, logged }.
local refused = open({ members = { A.member } })
if refused then
  return refused
end
local seq = num(M.seq)
return { 'ok', seq, M.evicted, replay(num(A.after), seq) }
