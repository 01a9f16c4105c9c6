-- The member the host seat was handed to (by the host's hand-over or the relay's own
-- succession) takes it with the hash of a secret of its own. Only that member may, and
-- only once: the same claim again (a reconnection) is a no-op.
-- A: member, host (the new hash). Answers { 'ok' }.
local refused = open({ members = { A.member } })
if refused then
  return refused
end
if M.hostm ~= A.member or (M.host ~= '' and M.host ~= A.host) then
  return { 'err', 'bad_host' }
end
redis.call('HSET', META, 'host', A.host)
expire_all()
return { 'ok' }
