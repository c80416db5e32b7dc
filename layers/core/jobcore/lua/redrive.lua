-- KEYS: dead-letter stream
-- ARGV: prefix, group, entry_id, now, now_ms, mask, note_json
-- Re-queue one dead-lettered session as a fresh first attempt, and take its entry off the dead-letter
-- stream in the same step: a second redrive of the entry finds nothing ('gone'), so it queues once.
-- The session's last result moves to a note in its history (field h:<i> of the job hash, which the
-- job's own TTL covers). Returns {outcome, job_id, idx}; outcome is 'requeued' or why not:
-- 'gone', 'expired' (the job record is gone), 'cancelled', 'stale' (the session is no longer failed),
-- 'secrets_gone' (its job ended and dropped the secrets the session needs: resubmit it).
local prefix, group, id, now, now_ms, mask, note = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local entry = redis.call('XRANGE', KEYS[1], id, id)
if #entry == 0 then return {'gone', '', ''} end
local f = {}
for k = 1, #entry[1][2], 2 do f[entry[1][2][k]] = entry[1][2][k + 1] end
local job_id, idx = f['j'], f['i']
local job_key = prefix .. 'job:' .. job_id
local meta = redis.call('HMGET', job_key, 'tenant', 'priority', 's:' .. idx, 'cancel_requested', 'created_at',
  'finished_at', 'h:' .. idx)
if not meta[1] then return {'expired', job_id, idx} end
if meta[4] then return {'cancelled', job_id, idx} end
if meta[3] ~= 'failed' then
  redis.call('XDEL', KEYS[1], id)
  return {'stale', job_id, idx}
end
local spec = redis.call('HGET', prefix .. 'spec:' .. job_id, idx) or ''
if string.find(spec, mask, 1, true) and redis.call('HEXISTS', prefix .. 'sec:' .. job_id, idx) == 0 then
  return {'secrets_gone', job_id, idx}
end

local tenant, priority = meta[1], meta[2]
local stream = prefix .. 'q:' .. priority .. ':' .. tenant
redis.pcall('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
redis.call('SADD', prefix .. 'streams', stream)
local new_id = redis.call('XADD', stream, '*', 'j', job_id, 'i', idx, 't', tenant, 'a', 1, 'q', now_ms)
join_rota(prefix, priority, tenant)
redis.call('XDEL', KEYS[1], id)

local history = cjson.decode(meta[7] or '[]')
table.insert(history, cjson.decode(note))
redis.call('HSET', job_key, 'e:' .. idx, new_id, 's:' .. idx, 'queued', 'a:' .. idx, 0,
  'h:' .. idx, cjson.encode(history))
redis.call('HINCRBY', job_key, 'failed', -1)
redis.call('HINCRBY', job_key, 'queued', 1)
redis.call('HDEL', prefix .. 'res:' .. job_id, idx)
redis.call('HINCRBY', prefix .. 'stats', 'backlog', 1)
redis.call('HINCRBY', prefix .. 'stats', 'backlog:' .. priority, 1)
redis.call('HINCRBY', prefix .. 'tenant-queued', tenant, 1)
if meta[6] then
  -- the job had ended: it is open again, and ends (and is archived) again when this session does
  redis.call('HDEL', job_key, 'finished_at')
  redis.call('ZREM', prefix .. 'finished', job_id)
  redis.call('ZADD', prefix .. 'tenant:' .. tenant .. ':jobs', meta[5], job_id)
  for _, key in ipairs({job_key, prefix .. 'res:' .. job_id, prefix .. 'spec:' .. job_id}) do
    redis.call('PERSIST', key)
  end
end
return {'requeued', job_id, idx}
