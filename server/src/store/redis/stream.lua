-- Relays one chunk-lane packet: checks sender and recipient, restarts the idle timer
-- (a long transfer keeps its room alive) and publishes the packet on the room's
-- channel. No sequence number, no log entry.
-- A: from, to ('' for everyone else), packet (the encoded `ServerFrame::Stream`).
-- Answers { 'ok' }.
local to = A.to ~= '' and A.to or nil
local refused = open({ members = { A.from, to } })
if refused then
  return refused
end
M.active = ms(NOW)
redis.call('HSET', META, 'active', M.active)
redis.call(PUBLISH, CHANNEL, 'stream:' .. A.packet)
expire_all()
return { 'ok' }
