-- Moderator: removes a member and emits `Left{Kicked}`, as kick.lua does for the host,
-- but never the host seat's member nor another moderator. The kick's commit renewed the
-- invitation: the join proof hash it made is taken with its renewal number, in the same
-- step as the kick, only with a kick taken (a refused one sets nothing) and only when
-- that number is above the one the room holds (`jr`, none for a room never renewed): a
-- kick that arrives after a newer proof leaves that proof in place.
-- A: by (the moderator), member, proof (the 32-byte hash), renewal (its pass's number),
-- event (the encoded `Left{Kicked}`).
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
if num(A.renewal) > (num(M.jr) or 0) then
  redis.call('HSET', META, 'jp', A.proof, 'jr', A.renewal)
end
return remove(A.member, A.event)
