-- KEYS: the priority streams, highest first
-- ARGV: prefix, group, consumer, count, now, priority names (one per stream, same order)
-- Returns a flat list, 9 fields per claimed session:
--   entry_id, priority, job_id, idx, tenant, attempt, enqueued_ms, spec_json, secret_json
local prefix, group, consumer, want, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local stats, tq = prefix .. 'stats', prefix .. 'tenant-queued'
local out = {}
local got = 0
for s = 1, #KEYS do
  if got >= want then break end
  local stream, priority = KEYS[s], ARGV[5 + s]
  while got < want do
    local ok, reply = pcall(redis.call, 'XREADGROUP', 'GROUP', group, consumer, 'COUNT', want - got,
      'STREAMS', stream, '>')
    if not ok or not reply then break end
    local entries = reply[1][2]
    if #entries == 0 then break end
    for _, entry in ipairs(entries) do
      local id, f = entry[1], {}
      for k = 1, #entry[2], 2 do f[entry[2][k]] = entry[2][k + 1] end
      local job_id, idx = f['j'], f['i']
      local job_key = prefix .. 'job:' .. job_id
      local st = redis.call('HMGET', job_key, 's:' .. idx, 'e:' .. idx)
      if st[1] ~= 'queued' or st[2] ~= id then
        -- cancelled, expired or superseded: nothing to run
        redis.call('XACK', stream, group, id)
        redis.call('XDEL', stream, id)
      else
        local attempt = redis.call('HINCRBY', job_key, 'a:' .. idx, 1)
        redis.call('HSET', job_key, 's:' .. idx, 'running')
        redis.call('HINCRBY', job_key, 'queued', -1)
        redis.call('HINCRBY', job_key, 'running', 1)
        redis.call('HSETNX', job_key, 'started_at', now)
        redis.call('HINCRBY', stats, 'backlog', -1)
        redis.call('HINCRBY', stats, 'backlog:' .. priority, -1)
        redis.call('HINCRBY', stats, 'running', 1)
        redis.call('HINCRBY', tq, f['t'], -1)
        local spec = redis.call('HGET', prefix .. 'spec:' .. job_id, idx) or ''
        local secret = redis.call('HGET', prefix .. 'sec:' .. job_id, idx) or ''
        table.insert(out, id); table.insert(out, priority); table.insert(out, job_id)
        table.insert(out, idx); table.insert(out, f['t']); table.insert(out, attempt)
        table.insert(out, f['q']); table.insert(out, spec); table.insert(out, secret)
        got = got + 1
      end
    end
  end
end
return out
