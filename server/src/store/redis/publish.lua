-- Relays one message: checks sender and recipient, stamps the next sequence number,
-- logs and publishes the event, restarts the idle timer, refreshes every TTL.
-- A: from, to ('' for everyone), event (the encoded `Message`). Answers { 'ok', seq }.
local refused = relay_from(A.from, A.to)
if refused then
  return refused
end
local seq = emit(A.event)
expire_all()
return { 'ok', seq }
