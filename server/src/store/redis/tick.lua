-- One instance's periodic visit to a room it has connections in: refreshes the
-- heartbeats of its connected members, then ends whatever is due (lifetime, idle
-- timeout, graces, members of instances that stopped heartbeating).
-- A: presence (ms), connected (`<member>:<session>` pairs, space separated).
-- Answers { 'gone' }, { 'ended' }, or { 'ok', seq, ms until the next deadline,
-- members this instance holds that no longer have a place... }.
if not load() then
  return { 'gone' }
end
local ending = due()
if ending then
  destroy(ending)
  return { 'ended' }
end
-- A room made before the placeholders existed gets them (so it too keeps working
-- while its slot moves).
hold()
local deadline = ms(NOW + num(A.presence))
local lost = {}
for member, session in string.gmatch(A.connected, '(%d+):(%d+)') do
  if redis.call('HGET', INFO, 's:' .. member) ~= session then
    lost[#lost + 1] = member
  else
    -- A member swept to `gone` while this instance could not reach Redis is still
    -- connected here: it takes its place back.
    redis.call('ZREM', GONE, member)
    redis.call('ZADD', LIVE, deadline, member)
  end
end
if sweep() then
  return { 'ended' }
end
expire_all()
local next_due = math.min(num(M.deadline), num(M.active) + num(M.idle))
local first_gone = earliest(GONE)
if first_gone[2] then
  next_due = math.min(next_due, num(first_gone[2]))
end
local first_live = earliest(LIVE)
if first_live[2] then
  next_due = math.min(next_due, num(first_live[2]))
end
if M.empty then
  next_due = math.min(next_due, num(M.empty) + num(M.grace))
end
local reply = { 'ok', num(M.seq), math.max(0, next_due - NOW) }
for _, member in ipairs(lost) do
  reply[#reply + 1] = member
end
return reply
