-- Relays one message: checks sender and recipient, stamps the next sequence number,
-- logs and publishes the event, restarts the idle timer, refreshes every TTL.
-- A: from, to ('' for everyone), event (the encoded `Message`). Answers { 'ok', seq }.
local to = A.to ~= '' and A.to or nil
local refused = open({ members = { A.from, to } })
if refused then
  return refused
end
M.active = ms(NOW)
redis.call('HSET', META, 'active', M.active)
local seq = emit(A.event)
expire_all()
return { 'ok', seq }
