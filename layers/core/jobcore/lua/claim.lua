-- KEYS: the priorities' rotas (lists of tenants with sessions waiting), highest priority first
-- ARGV: prefix, group, consumer, count, now, tenant_max_running (0: no limit), priority names (same order)
-- Within a priority, the waiting tenant running the fewest sessions goes next, ties in turn order,
-- so a tenant's 5,000 sessions do not delay another tenant's 20. Higher priorities first.
-- Returns a flat list, 10 fields per claimed session:
--   entry_id, priority, job_id, idx, tenant, attempt, enqueued_ms, spec_json, secret_json, stream
local prefix, group, consumer, want, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit = tonumber(ARGV[6])
local stats, tq, tr = prefix .. 'stats', prefix .. 'tenant-queued', prefix .. 'tenant-running'
local out = {}
local got = 0

-- Claim up to `count` new entries of `stream`; returns (claimed, drained) where drained means the
-- stream had no more new entries than it gave (stale entries are dropped and not counted).
local function claim_some(stream, priority, tenant, count)
  local ok, reply = pcall(redis.call, 'XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')
  if not ok or not reply then return 0, true end
  local entries = reply[1][2]
  local claimed = 0
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
      local spec = redis.call('HGET', prefix .. 'spec:' .. job_id, idx) or ''
      local secret = redis.call('HGET', prefix .. 'sec:' .. job_id, idx) or ''
      for _, v in ipairs({id, priority, job_id, idx, f['t'], attempt, f['q'], spec, secret, stream}) do
        table.insert(out, v)
      end
      claimed = claimed + 1
    end
  end
  if claimed > 0 then
    redis.call('HINCRBY', stats, 'backlog', -claimed)
    redis.call('HINCRBY', stats, 'backlog:' .. priority, -claimed)
    redis.call('HINCRBY', stats, 'running', claimed)
    redis.call('HINCRBY', tq, tenant, -claimed)
    redis.call('HINCRBY', tr, tenant, claimed)
  end
  return claimed, #entries < count, #entries > 0
end

for s = 1, #KEYS do
  local rota, priority = KEYS[s], ARGV[6 + s]
  while got < want do
    local tenants = redis.call('LRANGE', rota, 0, -1)
    if #tenants == 0 then break end
    -- The tenant running the fewest sessions goes next (rota order breaks ties), so a tenant that
    -- arrives behind another's thousands gets the next free slots until both run as many.
    local pick, fewest = nil, nil
    for _, tenant in ipairs(tenants) do
      local running = num(redis.call('HGET', tr, tenant))
      if (limit == 0 or running < limit) and (fewest == nil or running < fewest) then
        pick, fewest = tenant, running
      end
    end
    if pick == nil then break end  -- every waiting tenant is at its limit
    -- alone in the rota, a tenant may take the whole claim in one read
    local room = (#tenants == 1) and (want - got) or 1
    if limit > 0 then room = math.min(room, limit - fewest) end
    local claimed, drained = claim_some(prefix .. 'q:' .. priority .. ':' .. pick, priority, pick, room)
    got = got + claimed
    redis.call('LREM', rota, 1, pick)
    if not drained then redis.call('RPUSH', rota, pick) end  -- to the back of the turn order
  end
  if got >= want then break end
end
return out
