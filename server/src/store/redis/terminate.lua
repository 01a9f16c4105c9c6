-- Host: deletes every key of the room in one step and tells every instance.
-- A: host. Answers { 'ok' }.
local refused = open({ host = A.host })
if refused then
  return refused
end
destroy('terminated')
return { 'ok' }
