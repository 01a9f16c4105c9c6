-- Moderator: stops or allows new joins and emits `Locked`, as lock.lua does for the host.
-- A: by (the moderator), locked ('1' or '0'), event (the encoded `Locked`).
-- Answers { 'ok' }.
local refused = open({})
if refused then
  return refused
end
if not is_moderator(A.by) then
  return { 'err', 'bad_host' }
end
redis.call('HSET', META, 'locked', A.locked)
emit(A.event)
expire_all()
return { 'ok' }
