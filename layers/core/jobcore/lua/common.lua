-- Shared by every script: jobcore.queue prepends this file to each one.
-- All keys live under one hash tag, so keys built here from PREFIX hash to the same slot.
local function num(v) return tonumber(v) or 0 end

-- A job whose sessions have all ended gets finished_at, joins the archiver's list,
-- loses its secrets and gets its TTL (longer than the archive age).
local function finish_if_done(prefix, job_key, job_id, now, ttl)
  local counts = redis.call('HMGET', job_key, 'queued', 'running', 'finished_at')
  if num(counts[1]) == 0 and num(counts[2]) == 0 and not counts[3] then
    redis.call('HSET', job_key, 'finished_at', now)
    redis.call('ZADD', prefix .. 'finished', now, job_id)
    redis.call('DEL', prefix .. 'sec:' .. job_id)
    redis.call('EXPIRE', job_key, ttl)
    redis.call('EXPIRE', prefix .. 'res:' .. job_id, ttl)
    redis.call('EXPIRE', prefix .. 'spec:' .. job_id, ttl)
  end
end

-- The stream entry a session currently lives in is its fencing token: a worker may
-- write a session's result only while the entry it claimed is still the session's entry.
local function holds_fence(job_key, idx, entry_id)
  local st = redis.call('HMGET', job_key, 'e:' .. idx, 's:' .. idx)
  return st[1] == entry_id and st[2] == 'running'
end

local function session_url(prefix, job_id, idx)
  local spec = redis.call('HGET', prefix .. 'spec:' .. job_id, idx)
  if not spec then return '' end
  return cjson.decode(spec)['url'] or ''
end

-- A tenant with sessions waiting at a priority takes its turn in that priority's rota.
local function join_rota(prefix, priority, tenant)
  local rota = prefix .. 'rota:' .. priority
  if not redis.call('LPOS', rota, tenant) then redis.call('RPUSH', rota, tenant) end
end

-- Move a running session back to queued as a new entry at the end of its stream.
local function requeue(prefix, stream, job_key, job_id, idx, tenant, attempt, now_ms, priority)
  local new_id = redis.call('XADD', stream, '*', 'j', job_id, 'i', idx, 't', tenant, 'a', attempt, 'q', now_ms)
  join_rota(prefix, priority, tenant)
  redis.call('HINCRBY', prefix .. 'tenant-running', tenant, -1)
  redis.call('HSET', job_key, 'e:' .. idx, new_id, 's:' .. idx, 'queued')
  redis.call('HINCRBY', job_key, 'running', -1)
  redis.call('HINCRBY', job_key, 'queued', 1)
  redis.call('HINCRBY', prefix .. 'stats', 'running', -1)
  redis.call('HINCRBY', prefix .. 'stats', 'backlog', 1)
  redis.call('HINCRBY', prefix .. 'stats', 'backlog:' .. priority, 1)
  redis.call('HINCRBY', prefix .. 'tenant-queued', tenant, 1)
  return new_id
end

-- End a running session without a worker's result (dead letter, cancelled hand-back).
local function end_running(prefix, job_key, job_id, idx, status, result_json)
  redis.call('HINCRBY', prefix .. 'tenant-running', redis.call('HGET', job_key, 'tenant'), -1)
  redis.call('HSET', job_key, 's:' .. idx, status)
  redis.call('HINCRBY', job_key, 'running', -1)
  redis.call('HINCRBY', job_key, status, 1)
  redis.call('HINCRBY', prefix .. 'stats', 'running', -1)
  redis.call('HSET', prefix .. 'res:' .. job_id, idx, result_json)
end
