-- KEYS: stream, job
-- ARGV: prefix, group, entry_id, job_id, idx, now, now_ms, ttl, priority
-- Give a claimed session back without counting the attempt. Returns 1, or 0 when the lease was lost.
local prefix, group, id, job_id, idx = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, now_ms, ttl, priority = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if not holds_fence(KEYS[2], idx, id) then return 0 end
redis.call('XACK', KEYS[1], group, id)
redis.call('XDEL', KEYS[1], id)
local attempt = redis.call('HINCRBY', KEYS[2], 'a:' .. idx, -1)
local meta = redis.call('HMGET', KEYS[2], 'tenant', 'cancel_requested')
if meta[2] then
  local result = cjson.encode({index = tonumber(idx), url = session_url(prefix, job_id, idx),
    status = 'cancelled', attempts = attempt})
  end_running(prefix, KEYS[2], job_id, idx, 'cancelled', result)
  finish_if_done(prefix, KEYS[2], job_id, now, ttl)
else
  requeue(prefix, KEYS[1], KEYS[2], job_id, idx, meta[1], attempt + 1, now_ms, priority)
end
return 1
