-- KEYS: job, spec, sec, stream (the priority's stream of this tenant), tenant_jobs
-- ARGV: prefix, group, job_id, tenant, priority, now, now_ms, n, labels_json, max_backlog, tenant_quota,
--       spec_1..spec_n, secret_1..secret_n ('' when none)
-- Returns {'ok'} or {'full', backlog} or {'quota', queued} or {'exists'}.
local prefix, group, job_id, tenant, priority = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, now_ms, n = ARGV[6], ARGV[7], tonumber(ARGV[8])
local labels, max_backlog, quota = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local stats, tq = prefix .. 'stats', prefix .. 'tenant-queued'

if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local backlog = num(redis.call('HGET', stats, 'backlog'))
if backlog + n > max_backlog then return {'full', backlog} end
local queued = num(redis.call('HGET', tq, tenant))
if queued + n > quota then return {'quota', queued} end

redis.pcall('XGROUP', 'CREATE', KEYS[4], group, '0', 'MKSTREAM')
redis.call('SADD', prefix .. 'streams', KEYS[4])
redis.call('HSET', KEYS[1], 'tenant', tenant, 'priority', priority, 'created_at', now, 'labels', labels,
  'total', n, 'queued', n, 'running', 0, 'ok', 0, 'failed', 0, 'cancelled', 0)
for i = 0, n - 1 do
  local spec, secret = ARGV[12 + i], ARGV[12 + n + i]
  local id = redis.call('XADD', KEYS[4], '*', 'j', job_id, 'i', i, 't', tenant, 'a', 1, 'q', now_ms)
  redis.call('HSET', KEYS[1], 's:' .. i, 'queued', 'e:' .. i, id, 'a:' .. i, 0)
  redis.call('HSET', KEYS[2], i, spec)
  if secret ~= '' then redis.call('HSET', KEYS[3], i, secret) end
end
redis.call('ZADD', KEYS[5], now, job_id)
join_rota(prefix, priority, tenant)
redis.call('HINCRBY', stats, 'backlog', n)
redis.call('HINCRBY', stats, 'backlog:' .. priority, n)
redis.call('HINCRBY', tq, tenant, n)
return {'ok'}
