-- KEYS: job, stream
-- ARGV: prefix, job_id, tenant, now, ttl, priority
-- Cancel every session of the job that has not started. Running ones finish (their hand-back
-- or recovery turns them into cancelled). Returns the number cancelled, or -1 when the tenant has no such job.
local prefix, job_id, tenant, now, ttl, priority = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local meta = redis.call('HMGET', KEYS[1], 'tenant', 'total')
if meta[1] ~= tenant then return -1 end
redis.call('HSET', KEYS[1], 'cancel_requested', now)
local cancelled = 0
for i = 0, num(meta[2]) - 1 do
  local st = redis.call('HMGET', KEYS[1], 's:' .. i, 'e:' .. i, 'a:' .. i)
  if st[1] == 'queued' then
    redis.call('XDEL', KEYS[2], st[2])
    redis.call('HSET', KEYS[1], 's:' .. i, 'cancelled')
    redis.call('HSET', prefix .. 'res:' .. job_id, i, cjson.encode({index = i,
      url = session_url(prefix, job_id, i), status = 'cancelled', attempts = num(st[3])}))
    cancelled = cancelled + 1
  end
end
if cancelled > 0 then
  redis.call('HINCRBY', KEYS[1], 'queued', -cancelled)
  redis.call('HINCRBY', KEYS[1], 'cancelled', cancelled)
  redis.call('HINCRBY', prefix .. 'stats', 'backlog', -cancelled)
  redis.call('HINCRBY', prefix .. 'stats', 'backlog:' .. priority, -cancelled)
  redis.call('HINCRBY', prefix .. 'tenant-queued', tenant, -cancelled)
end
finish_if_done(prefix, KEYS[1], job_id, now, ttl)
return cancelled
