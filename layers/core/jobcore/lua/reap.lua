-- KEYS: stream, dead-letter stream
-- ARGV: prefix, group, entry_id, min_idle_ms, max_attempts, reason, error_type, message, now, now_ms, ttl, priority
-- Recover one stalled entry: re-queue it (attempt + 1) or, past the attempt limit, dead-letter it.
-- Checked and done in one step, so two reapers that both saw the entry recover it once.
-- Returns 'requeued', 'dead', 'cancelled' or 'skip' (renewed meanwhile, or already recovered).
local prefix, group, id, min_idle = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local max_attempts, reason, error_type, message = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local now, now_ms, ttl, priority = ARGV[9], ARGV[10], ARGV[11], ARGV[12]

local pending = redis.call('XPENDING', KEYS[1], group, 'IDLE', min_idle, id, id, 1)
if #pending == 0 then return 'skip' end
local entry = redis.call('XRANGE', KEYS[1], id, id)
redis.call('XACK', KEYS[1], group, id)
redis.call('XDEL', KEYS[1], id)
if #entry == 0 then return 'skip' end
local f = {}
for k = 1, #entry[1][2], 2 do f[entry[1][2][k]] = entry[1][2][k + 1] end
local job_id, idx = f['j'], f['i']
local job_key = prefix .. 'job:' .. job_id
if not holds_fence(job_key, idx, id) then return 'skip' end

local meta = redis.call('HMGET', job_key, 'tenant', 'cancel_requested', 'a:' .. idx)
local attempts = num(meta[3])
local url = session_url(prefix, job_id, idx)
if meta[2] then
  end_running(prefix, job_key, job_id, idx, 'cancelled',
    cjson.encode({index = tonumber(idx), url = url, status = 'cancelled', attempts = attempts}))
  finish_if_done(prefix, job_key, job_id, now, ttl)
  return 'cancelled'
end
if attempts >= max_attempts then
  redis.call('XADD', KEYS[2], '*', 'j', job_id, 'i', idx, 't', meta[1], 'reason', reason,
    'attempts', attempts, 'at', now)
  end_running(prefix, job_key, job_id, idx, 'failed', cjson.encode({index = tonumber(idx), url = url,
    status = 'failed', attempts = attempts, error = {type = error_type, message = message}}))
  finish_if_done(prefix, job_key, job_id, now, ttl)
  return 'dead'
end
requeue(prefix, KEYS[1], job_key, job_id, idx, meta[1], attempts + 1, now_ms, priority)
return 'requeued'
