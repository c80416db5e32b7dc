-- KEYS: stream, dead-letter stream
-- ARGV: entry_id, min_idle_ms, max_attempts, reason, error_type, message, now, now_ms, ttl, priority
-- Recover one stalled entry: re-queue it (attempt + 1) or, past the attempt limit, dead-letter it.
-- Checked and done in one step, so two reapers that both saw the entry recover it once.
-- Returns a REAP outcome: requeued, dead, cancelled, or skip (renewed meanwhile, or already recovered).
local id, min_idle = ARGV[1], tonumber(ARGV[2])
local max_attempts, reason, error_type, message = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local now, now_ms, ttl, priority = ARGV[7], ARGV[8], ARGV[9], ARGV[10]

local pending = redis.call('XPENDING', KEYS[1], GROUP, 'IDLE', min_idle, id, id, 1)
if #pending == 0 then return REAP.skip end
local entry = redis.call('XRANGE', KEYS[1], id, id)
redis.call('XACK', KEYS[1], GROUP, id)
redis.call('XDEL', KEYS[1], id)
if #entry == 0 then return REAP.skip end
local f = {}
for k = 1, #entry[1][2], 2 do f[entry[1][2][k]] = entry[1][2][k + 1] end
local job_id, idx = f[FIELD.job], f[FIELD.index]
local job_key = KEY.job(job_id)
if not holds_fence(job_key, idx, id) then return REAP.skip end

local meta = redis.call('HMGET', job_key, JOB.tenant, JOB.cancel_requested, SESSION.attempts(idx))
local attempts = num(meta[3])
if meta[2] then
  end_running(job_key, job_id, idx, STATUS.cancelled, script_result(job_id, idx, STATUS.cancelled, attempts))
  finish_if_done(job_key, job_id, now, ttl)
  return REAP.cancelled
end
if attempts >= max_attempts then
  redis.call('XADD', KEYS[2], '*', FIELD.job, job_id, FIELD.index, idx, FIELD.tenant, meta[1],
    FIELD.reason, reason, FIELD.attempts, attempts, FIELD.at, now)
  end_running(job_key, job_id, idx, STATUS.failed, script_result(job_id, idx, STATUS.failed, attempts,
    {type = error_type, message = message}))
  finish_if_done(job_key, job_id, now, ttl)
  return REAP.dead
end
requeue(KEYS[1], job_key, job_id, idx, meta[1], now_ms, priority)
return REAP.requeued
