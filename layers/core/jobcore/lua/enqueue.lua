-- KEYS: job, spec, sec, stream (the priority's stream of this tenant), tenant_jobs
-- ARGV: job_id, tenant, priority, now, now_ms, n, labels_json, max_backlog, tenant_quota,
--       spec_1..spec_n, secret_1..secret_n ('' when none)
-- Returns {ENQUEUE.ok} or {ENQUEUE.full, backlog} or {ENQUEUE.quota, queued} or {ENQUEUE.exists}.
local job_id, tenant, priority = ARGV[1], ARGV[2], ARGV[3]
local now, now_ms, n = ARGV[4], ARGV[5], tonumber(ARGV[6])
local labels, max_backlog, quota = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])

if redis.call('EXISTS', KEYS[1]) == 1 then return {ENQUEUE.exists} end
local backlog = num(redis.call('HGET', KEY.stats, STAT.backlog))
if backlog + n > max_backlog then return {ENQUEUE.full, backlog} end
local queued = num(redis.call('HGET', KEY.tenant_queued, tenant))
if queued + n > quota then return {ENQUEUE.quota, queued} end

redis.pcall('XGROUP', 'CREATE', KEYS[4], GROUP, '0', 'MKSTREAM')
redis.call('SADD', KEY.streams, KEYS[4])
redis.call('HSET', KEYS[1], JOB.tenant, tenant, JOB.priority, priority, JOB.created_at, now, JOB.labels, labels,
  JOB.total, n, STATUS.queued, n, STATUS.running, 0, STATUS.ok, 0, STATUS.failed, 0, STATUS.cancelled, 0)
for i = 0, n - 1 do
  local spec, secret = ARGV[10 + i], ARGV[10 + n + i]
  local id = add_entry(KEYS[4], job_id, i, tenant, now_ms)
  redis.call('HSET', KEYS[1], SESSION.status(i), STATUS.queued, SESSION.entry(i), id, SESSION.attempts(i), 0)
  redis.call('HSET', KEYS[2], i, spec)
  if secret ~= '' then redis.call('HSET', KEYS[3], i, secret) end
end
redis.call('ZADD', KEYS[5], now, job_id)
join_rota(priority, tenant)
count_backlog(priority, tenant, n)
return {ENQUEUE.ok}
