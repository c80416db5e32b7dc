-- KEYS: stream, job
-- ARGV: entry_id, job_id, idx, now, now_ms, priority, ttl
-- Give a claimed session back without counting the attempt. Returns 1, or 0 when the lease was lost.
local id, job_id, idx = ARGV[1], ARGV[2], ARGV[3]
local now, now_ms, priority, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if not holds_fence(KEYS[2], idx, id) then return 0 end
redis.call('XACK', KEYS[1], GROUP, id)
redis.call('XDEL', KEYS[1], id)
local attempt = redis.call('HINCRBY', KEYS[2], SESSION.attempts(idx), -1)
local meta = redis.call('HMGET', KEYS[2], JOB.tenant, JOB.cancel_requested)
if meta[2] then
  end_running(KEYS[2], job_id, idx, STATUS.cancelled, script_result(job_id, idx, STATUS.cancelled, attempt))
  finish_if_done(KEYS[2], job_id, now, ttl)
else
  requeue(KEYS[1], KEYS[2], job_id, idx, meta[1], now_ms, priority)
end
return 1
