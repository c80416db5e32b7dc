-- KEYS: stream, job
-- ARGV: prefix, group, entry_id, job_id, idx, status ('ok'|'failed'), result_json, now, ttl
-- The fenced result write and the ack in one step. Returns 1, or 0 when the lease was lost.
local prefix, group, id, job_id, idx = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status, result, now, ttl = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if not holds_fence(KEYS[2], idx, id) then return 0 end
end_running(prefix, KEYS[2], job_id, idx, status, result)
redis.call('XACK', KEYS[1], group, id)
redis.call('XDEL', KEYS[1], id)
finish_if_done(prefix, KEYS[2], job_id, now, ttl)
return 1
