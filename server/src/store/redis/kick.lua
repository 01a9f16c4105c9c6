-- Host: removes a member and emits `Left{Kicked}`; the instance holding the member's
-- connection closes it when the event reaches it.
-- ARGV: host hash, member, encoded Left{Kicked} body.
-- Answers { 'ok', 1 when nobody is connected any more }.
if not load() then
  return { 'err', 'unknown_room' }
end
if not is_host(ARGV[1]) then
  return { 'err', 'bad_host' }
end
if not has(ARGV[2]) then
  return { 'err', 'unknown_member' }
end
forget(ARGV[2])
emit(ARGV[3])
note_presence()
expire_all()
return { 'ok', M.empty and 1 or 0 }
