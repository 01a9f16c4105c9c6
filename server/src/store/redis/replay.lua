-- Reads logged frames after a cursor for one member (read only).
-- ARGV: member, cursor. Answers { 'ok', seq, evicted, frames }.
if not load() then
  return { 'err', 'unknown_room' }
end
if not has(ARGV[1]) then
  return { 'err', 'unknown_member' }
end
local seq = num(M.seq)
return { 'ok', seq, M.evicted, replay(num(ARGV[2]), seq) }
