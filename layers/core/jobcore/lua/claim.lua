-- KEYS: the priorities' rotas (lists of tenants with sessions waiting), highest priority first
-- ARGV: prefix, group, consumer, count, now, tenant_max_running (0: no limit), priority names (same order)
-- Within a priority, tenants take turns: one session from each tenant in rota order, round after
-- round, so a tenant's 5,000 sessions do not delay another tenant's 20. Higher priorities first.
-- Returns a flat list, 10 fields per claimed session:
--   entry_id, priority, job_id, idx, tenant, attempt, enqueued_ms, spec_json, secret_json, stream
local prefix, group, consumer, want, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit = tonumber(ARGV[6])
local stats, tq, tr = prefix .. 'stats', prefix .. 'tenant-queued', prefix .. 'tenant-running'
local out = {}
local got = 0

-- Claim one new entry of `stream`; returns 'claimed', 'skipped' (stale entry dropped) or 'empty'.
local function claim_one(stream, priority)
  local ok, reply = pcall(redis.call, 'XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
  if not ok or not reply then return 'empty' end
  local entry = reply[1][2][1]
  if not entry then return 'empty' end
  local id, f = entry[1], {}
  for k = 1, #entry[2], 2 do f[entry[2][k]] = entry[2][k + 1] end
  local job_id, idx = f['j'], f['i']
  local job_key = prefix .. 'job:' .. job_id
  local st = redis.call('HMGET', job_key, 's:' .. idx, 'e:' .. idx)
  if st[1] ~= 'queued' or st[2] ~= id then
    -- cancelled, expired or superseded: nothing to run
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    return 'skipped'
  end
  local attempt = redis.call('HINCRBY', job_key, 'a:' .. idx, 1)
  redis.call('HSET', job_key, 's:' .. idx, 'running')
  redis.call('HINCRBY', job_key, 'queued', -1)
  redis.call('HINCRBY', job_key, 'running', 1)
  redis.call('HSETNX', job_key, 'started_at', now)
  redis.call('HINCRBY', stats, 'backlog', -1)
  redis.call('HINCRBY', stats, 'backlog:' .. priority, -1)
  redis.call('HINCRBY', stats, 'running', 1)
  redis.call('HINCRBY', tq, f['t'], -1)
  redis.call('HINCRBY', tr, f['t'], 1)
  local spec = redis.call('HGET', prefix .. 'spec:' .. job_id, idx) or ''
  local secret = redis.call('HGET', prefix .. 'sec:' .. job_id, idx) or ''
  for _, v in ipairs({id, priority, job_id, idx, f['t'], attempt, f['q'], spec, secret, stream}) do
    table.insert(out, v)
  end
  return 'claimed'
end

for s = 1, #KEYS do
  local rota, priority = KEYS[s], ARGV[6 + s]
  while got < want do
    local turns = redis.call('LLEN', rota)
    if turns == 0 then break end
    local moved = false
    for _ = 1, turns do
      if got >= want then break end
      local tenant = redis.call('LMOVE', rota, rota, 'LEFT', 'RIGHT')
      if not tenant then break end
      if limit == 0 or num(redis.call('HGET', tr, tenant)) < limit then
        local outcome = claim_one(prefix .. 'q:' .. priority .. ':' .. tenant, priority)
        if outcome == 'claimed' then
          got = got + 1
          moved = true
        elseif outcome == 'skipped' then
          moved = true
        else
          redis.call('LREM', rota, 0, tenant)  -- nothing new waits: out of the rota until it has work
        end
      end
    end
    if not moved then break end
  end
  if got >= want then break end
end
return out
