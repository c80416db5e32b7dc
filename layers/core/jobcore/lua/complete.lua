-- KEYS: stream, job
-- ARGV: entry_id, job_id, idx, status (STATUS.ok or STATUS.failed), result_json, now, ttl
-- The fenced result write and the ack in one step. Returns 1, or 0 when the lease was lost.
local id, job_id, idx = ARGV[1], ARGV[2], ARGV[3]
local status, result, now, ttl = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if not holds_fence(KEYS[2], idx, id) then return 0 end
end_running(KEYS[2], job_id, idx, status, result)
redis.call('XACK', KEYS[1], GROUP, id)
redis.call('XDEL', KEYS[1], id)
finish_if_done(KEYS[2], job_id, now, ttl)
return 1
