-- KEYS: dead-letter stream
-- ARGV: entry_id, now, now_ms, mask, note_json
-- Re-queue one dead-lettered session as a fresh first attempt, and take its entry off the dead-letter
-- stream in the same step: a second redrive of the entry finds nothing (REDRIVE.gone), so it queues once.
-- The session's last result moves to a note in its history (SESSION.history of the job hash, which the
-- job's own TTL covers). Returns {outcome, job_id, idx}; outcome is REDRIVE.requeued or why not:
-- gone, expired (the job record is gone), cancelled, stale (the session is no longer failed),
-- secrets_gone (its job ended and dropped the secrets the session needs: resubmit it).
local id, now, now_ms, mask, note = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local entry = redis.call('XRANGE', KEYS[1], id, id)
if #entry == 0 then return {REDRIVE.gone, '', ''} end
local f = {}
for k = 1, #entry[1][2], 2 do f[entry[1][2][k]] = entry[1][2][k + 1] end
local job_id, idx = f[FIELD.job], f[FIELD.index]
local job_key = KEY.job(job_id)
local meta = redis.call('HMGET', job_key, JOB.tenant, JOB.priority, SESSION.status(idx), JOB.cancel_requested,
  JOB.created_at, JOB.finished_at, SESSION.history(idx))
if not meta[1] then return {REDRIVE.expired, job_id, idx} end
if meta[4] then return {REDRIVE.cancelled, job_id, idx} end
if meta[3] ~= STATUS.failed then
  redis.call('XDEL', KEYS[1], id)
  return {REDRIVE.stale, job_id, idx}
end
local spec = redis.call('HGET', KEY.specs(job_id), idx) or ''
if string.find(spec, mask, 1, true) and redis.call('HEXISTS', KEY.secrets(job_id), idx) == 0 then
  return {REDRIVE.secrets_gone, job_id, idx}
end

local tenant, priority = meta[1], meta[2]
local stream = KEY.stream(priority, tenant)
redis.pcall('XGROUP', 'CREATE', stream, GROUP, '0', 'MKSTREAM')
redis.call('SADD', KEY.streams, stream)
local new_id = add_entry(stream, job_id, idx, tenant, now_ms)
join_rota(priority, tenant)
redis.call('XDEL', KEYS[1], id)

local history = cjson.decode(meta[7] or '[]')
table.insert(history, cjson.decode(note))
redis.call('HSET', job_key, SESSION.entry(idx), new_id, SESSION.status(idx), STATUS.queued,
  SESSION.attempts(idx), 0, SESSION.history(idx), cjson.encode(history))
redis.call('HINCRBY', job_key, STATUS.failed, -1)
redis.call('HINCRBY', job_key, STATUS.queued, 1)
redis.call('HDEL', KEY.results(job_id), idx)
count_backlog(priority, tenant, 1)
if meta[6] then
  -- the job had ended: it is open again, and ends (and is archived) again when this session does
  redis.call('HDEL', job_key, JOB.finished_at)
  redis.call('ZREM', KEY.finished, job_id)
  redis.call('ZADD', KEY.tenant_jobs(tenant), meta[5], job_id)
  for _, key in ipairs({job_key, KEY.results(job_id), KEY.specs(job_id)}) do
    redis.call('PERSIST', key)
  end
end
return {REDRIVE.requeued, job_id, idx}
