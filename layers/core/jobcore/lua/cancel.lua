-- KEYS: job
-- ARGV: job_id, tenant, now, ttl
-- Cancel every session of the job that has not started. Running ones finish (their hand-back
-- or recovery turns them into cancelled). Returns the number cancelled, or -1 when the tenant has no such
-- job (the one check of the tenant a cancel makes).
local job_id, tenant, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta = redis.call('HMGET', KEYS[1], JOB.tenant, JOB.total, JOB.priority)
if meta[1] ~= tenant then return -1 end
local priority = meta[3]
local stream = KEY.stream(priority, tenant)
redis.call('HSET', KEYS[1], JOB.cancel_requested, now)
local cancelled = 0
for i = 0, num(meta[2]) - 1 do
  local st = redis.call('HMGET', KEYS[1], SESSION.status(i), SESSION.entry(i), SESSION.attempts(i))
  if st[1] == STATUS.queued then
    redis.call('XDEL', stream, st[2])
    redis.call('HSET', KEYS[1], SESSION.status(i), STATUS.cancelled)
    redis.call('HSET', KEY.results(job_id), i, script_result(job_id, i, STATUS.cancelled, num(st[3])))
    cancelled = cancelled + 1
  end
end
if cancelled > 0 then
  redis.call('HINCRBY', KEYS[1], STATUS.queued, -cancelled)
  redis.call('HINCRBY', KEYS[1], STATUS.cancelled, cancelled)
  count_backlog(priority, tenant, -cancelled)
end
finish_if_done(KEYS[1], job_id, now, ttl)
return cancelled
