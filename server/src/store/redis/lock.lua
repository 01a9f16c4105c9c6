-- Host: stops or allows new joins and emits `Locked`.
-- ARGV: host hash, '1' or '0', encoded Locked body.
if not load() then
  return { 'err', 'unknown_room' }
end
if not is_host(ARGV[1]) then
  return { 'err', 'bad_host' }
end
redis.call('HSET', META, 'locked', ARGV[2])
emit(ARGV[3])
expire_all()
return { 'ok' }
