-- Moderator: removes a member and emits `Left{Kicked}`, as kick.lua does for the host,
-- but never the host seat's member nor another moderator. The kick's commit renewed the
-- invitation: the join proof hash it made is taken as rotate.lua takes the host's, and
-- only with a kick taken (a refused one sets nothing).
-- A: by (the moderator), member, proof (the 32-byte hash), event (the encoded
-- `Left{Kicked}`).
-- Answers { 'ok', 1 when nobody is connected any more }.
local refused = open({})
if refused then
  return refused
end
if not is_moderator(A.by) or A.member == M.hostm or is_moderator(A.member) then
  return { 'err', 'bad_host' }
end
if not has(A.member) then
  return { 'err', 'unknown_member' }
end
redis.call('HSET', META, 'jp', A.proof)
return remove(A.member, A.event)
