-- A member leaves for good and `Left{Left}` is emitted.
-- ARGV: member, encoded Left{Left} body.
-- Answers { 'ok', 1 when nobody is connected any more }.
if not load() then
  return { 'err', 'unknown_room' }
end
if not has(ARGV[1]) then
  return { 'err', 'unknown_member' }
end
forget(ARGV[1])
emit(ARGV[2])
note_presence()
expire_all()
return { 'ok', M.empty and 1 or 0 }
