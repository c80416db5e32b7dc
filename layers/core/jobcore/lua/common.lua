-- Shared by every script: jobcore.lua_scripts puts this file after the names' preamble, before each one.
-- Every key is named by the preamble's KEY, all under one hash tag: keys built here hash to one slot.
local function num(v) return tonumber(v) or 0 end

-- A job whose sessions have all ended gets finished_at, joins the archiver's list,
-- loses its secrets and gets its TTL (longer than the archive age).
local function finish_if_done(job_key, job_id, now, ttl)
  local counts = redis.call('HMGET', job_key, STATUS.queued, STATUS.running, JOB.finished_at)
  if num(counts[1]) == 0 and num(counts[2]) == 0 and not counts[3] then
    redis.call('HSET', job_key, JOB.finished_at, now)
    redis.call('ZADD', KEY.finished, now, job_id)
    redis.call('DEL', KEY.secrets(job_id))
    redis.call('EXPIRE', job_key, ttl)
    redis.call('EXPIRE', KEY.results(job_id), ttl)
    redis.call('EXPIRE', KEY.specs(job_id), ttl)
  end
end

-- The stream entry a session currently lives in is its fencing token: a worker may
-- write a session's result only while the entry it claimed is still the session's entry.
local function holds_fence(job_key, idx, entry_id)
  local st = redis.call('HMGET', job_key, SESSION.entry(idx), SESSION.status(idx))
  return st[1] == entry_id and st[2] == STATUS.running
end

local function session_url(job_id, idx)
  local spec = redis.call('HGET', KEY.specs(job_id), idx)
  if not spec then return '' end
  return cjson.decode(spec)['url'] or ''
end

-- A session's result written by a script (cancelled, dead-lettered): a SessionResult's JSON.
local function script_result(job_id, idx, status, attempts, error)
  return cjson.encode({index = tonumber(idx), url = session_url(job_id, idx), status = status,
    attempts = attempts, error = error})
end

-- A tenant with sessions waiting at a priority takes its turn in that priority's rota.
local function join_rota(priority, tenant)
  local rota = KEY.rota(priority)
  if not redis.call('LPOS', rota, tenant) then redis.call('RPUSH', rota, tenant) end
end

-- Queue a session as a new entry at the end of its stream; returns the entry id.
local function add_entry(stream, job_id, idx, tenant, now_ms)
  return redis.call('XADD', stream, '*', FIELD.job, job_id, FIELD.index, idx, FIELD.tenant, tenant,
    FIELD.enqueued_ms, now_ms)
end

-- Count sessions as waiting (n > 0) or no longer waiting (n < 0) at a priority.
local function count_backlog(priority, tenant, n)
  redis.call('HINCRBY', KEY.stats, STAT.backlog, n)
  redis.call('HINCRBY', KEY.stats, STAT.backlog_at(priority), n)
  redis.call('HINCRBY', KEY.tenant_queued, tenant, n)
end

-- Move a running session back to queued as a new entry at the end of its stream.
local function requeue(stream, job_key, job_id, idx, tenant, now_ms, priority)
  local new_id = add_entry(stream, job_id, idx, tenant, now_ms)
  join_rota(priority, tenant)
  redis.call('HINCRBY', KEY.tenant_running, tenant, -1)
  redis.call('HSET', job_key, SESSION.entry(idx), new_id, SESSION.status(idx), STATUS.queued)
  redis.call('HINCRBY', job_key, STATUS.running, -1)
  redis.call('HINCRBY', job_key, STATUS.queued, 1)
  redis.call('HINCRBY', KEY.stats, STAT.running, -1)
  count_backlog(priority, tenant, 1)
  return new_id
end

-- End a running session without a worker's result (dead letter, cancelled hand-back).
local function end_running(job_key, job_id, idx, status, result_json)
  redis.call('HINCRBY', KEY.tenant_running, redis.call('HGET', job_key, JOB.tenant), -1)
  redis.call('HSET', job_key, SESSION.status(idx), status)
  redis.call('HINCRBY', job_key, STATUS.running, -1)
  redis.call('HINCRBY', job_key, status, 1)
  redis.call('HINCRBY', KEY.stats, STAT.running, -1)
  redis.call('HSET', KEY.results(job_id), idx, result_json)
end
