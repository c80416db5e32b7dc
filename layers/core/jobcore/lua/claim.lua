-- KEYS: the priorities' rotas (lists of tenants with sessions waiting), highest priority first
-- ARGV: prefix, group, consumer, count, now, tenant_max_running (0: no limit), priority names (same order)
-- Within a priority, tenants take turns: an equal share of the claim from each tenant in rota order,
-- round after round, so a tenant's 5,000 sessions do not delay another tenant's 20. Higher
-- priorities first.
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
    local turns = redis.call('LLEN', rota)
    if turns == 0 then break end
    -- each tenant in the rota gets an equal share of what is left in this round (at least one)
    local share = math.max(1, math.floor((want - got) / turns))
    local moved = false
    for _ = 1, turns do
      if got >= want then break end
      local tenant = redis.call('LMOVE', rota, rota, 'LEFT', 'RIGHT')
      if not tenant then break end
      local room = math.min(share, want - got)
      if limit > 0 then room = math.min(room, limit - num(redis.call('HGET', tr, tenant))) end
      if room > 0 then
        local claimed, drained, read = claim_some(prefix .. 'q:' .. priority .. ':' .. tenant, priority, tenant, room)
        got = got + claimed
        if read then moved = true end
        if drained then
          redis.call('LREM', rota, 0, tenant)  -- nothing new waits: out of the rota until it has work
        end
      end
    end
    if not moved then break end
  end
  if got >= want then break end
end
return out
