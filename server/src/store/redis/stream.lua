-- Relays one chunk-lane packet: checks sender and recipient, restarts the idle timer
-- (a long transfer keeps its room alive) and publishes the packet on the room's
-- channel. No sequence number, no log entry.
-- A: from, to ('' for everyone else), packet (the encoded `ServerFrame::Stream`).
-- Answers { 'ok' }.
local refused = relay_from(A.from, A.to)
if refused then
  return refused
end
redis.call(PUBLISH, CHANNEL, 'stream:' .. A.packet)
expire_all()
return { 'ok' }
