-- Host: deletes every key of the room in one step and tells every instance.
-- ARGV: host hash.
if not load() then
  return { 'err', 'unknown_room' }
end
if not is_host(ARGV[1]) then
  return { 'err', 'bad_host' }
end
destroy(TERMINATED)
return { 'ok' }
