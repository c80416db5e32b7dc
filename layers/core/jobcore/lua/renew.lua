-- KEYS: the stream of each lease, one per lease
-- ARGV: consumer, then per lease: entry_id, job_id, idx
-- Resets the idle time of every entry this worker still holds; returns 1/0 per lease.
local consumer = ARGV[1]
local out = {}
for k = 1, #KEYS do
  local base = 1 + (k - 1) * 3
  local id, job_id, idx = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  if holds_fence(KEY.job(job_id), idx, id) then
    local claimed = redis.call('XCLAIM', KEYS[k], GROUP, consumer, 0, id, 'JUSTID')
    out[k] = (#claimed > 0) and 1 or 0
  else
    out[k] = 0
  end
end
return out
