-- KEYS: the priorities' rotas (lists of tenants with sessions waiting), in the order of PRIORITIES
-- ARGV: consumer, count, now, tenant_max_running (0: no limit), tenant_max_share
-- Within a priority, the waiting tenant running the fewest sessions goes next, ties in turn order,
-- so a tenant's 5,000 sessions do not delay another tenant's 20. Higher priorities first; but while
-- another tenant waits (at any priority), a tenant running tenant_max_share of the live fleet's slots
-- (and never all of them) gets no more, so one tenant's high-priority backlog cannot take every slot.
-- Returns one list per claimed session, of named values (name, value, name, value, ...), the names
-- CLAIMED's (jobcore.lua_scripts.Claimed): the entry id (the fencing token), the session, its attempt,
-- when it was queued, its masked spec and the secrets masked out of it.
local consumer, want, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local limit = tonumber(ARGV[4])
local share = tonumber(ARGV[5])
local tr = KEY.tenant_running
local out = {}
local got = 0

-- Claim up to `count` new entries of `stream`; returns (claimed, drained) where drained means the
-- stream had no more new entries than it gave (stale entries are dropped and not counted).
local function claim_some(stream, priority, tenant, count)
  local ok, reply = pcall(redis.call, 'XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', count, 'STREAMS', stream, '>')
  if not ok or not reply then return 0, true end
  local entries = reply[1][2]
  local claimed = 0
  for _, entry in ipairs(entries) do
    local id, f = entry[1], {}
    for k = 1, #entry[2], 2 do f[entry[2][k]] = entry[2][k + 1] end
    local job_id, idx = f[FIELD.job], f[FIELD.index]
    local job_key = KEY.job(job_id)
    local st = redis.call('HMGET', job_key, SESSION.status(idx), SESSION.entry(idx))
    if st[1] ~= STATUS.queued or st[2] ~= id then
      -- cancelled, expired or superseded: nothing to run
      redis.call('XACK', stream, GROUP, id)
      redis.call('XDEL', stream, id)
    else
      local attempt = redis.call('HINCRBY', job_key, SESSION.attempts(idx), 1)
      redis.call('HSET', job_key, SESSION.status(idx), STATUS.running)
      redis.call('HINCRBY', job_key, STATUS.queued, -1)
      redis.call('HINCRBY', job_key, STATUS.running, 1)
      redis.call('HSETNX', job_key, JOB.started_at, now)
      table.insert(out, {
        CLAIMED.entry_id, id, CLAIMED.priority, priority, CLAIMED.job_id, job_id, CLAIMED.index, idx,
        CLAIMED.tenant, f[FIELD.tenant], CLAIMED.attempt, attempt, CLAIMED.enqueued_ms, f[FIELD.enqueued_ms],
        CLAIMED.spec, redis.call('HGET', KEY.specs(job_id), idx) or '',
        CLAIMED.secret, redis.call('HGET', KEY.secrets(job_id), idx) or '',
      })
      claimed = claimed + 1
    end
  end
  if claimed > 0 then
    count_backlog(priority, tenant, -claimed)
    redis.call('HINCRBY', KEY.stats, STAT.running, claimed)
    redis.call('HINCRBY', tr, tenant, claimed)
  end
  return claimed, #entries < count, #entries > 0
end

-- The live fleet's slots, from the workers' heartbeats.
local function fleet_slots()
  local total = 0
  for _, text in ipairs(redis.call('HVALS', KEY.workers)) do
    local ok, beat = pcall(cjson.decode, text)
    if ok and type(beat) == 'table' and num(beat[BEAT.expires]) > tonumber(now) then
      total = total + num(beat[BEAT.capacity])
    end
  end
  return total
end

local slots = (share < 1) and fleet_slots() or 0
-- ceil(share x slots) and at most slots - 1: two tenants at it still fill the fleet between them
local soft = (slots > 1) and math.max(1, math.min(math.ceil(share * slots), slots - 1)) or 0

-- The tenants waiting at any priority that may run one more (under the hard limit).
local function eligible_waiting()
  local seen, count, first = {}, 0, nil
  for _, key in ipairs(KEYS) do
    for _, tenant in ipairs(redis.call('LRANGE', key, 0, -1)) do
      if not seen[tenant] and (limit == 0 or num(redis.call('HGET', tr, tenant)) < limit) then
        seen[tenant], count, first = true, count + 1, first or tenant
      end
    end
  end
  return count, first
end

-- A tenant's limit now: the hard one, and the soft one while any other tenant waits.
local function cap_for(tenant, waiting, first_waiting)
  local others = waiting > 1 or (waiting == 1 and first_waiting ~= tenant)
  if soft == 0 or not others then return limit end
  return (limit == 0) and soft or math.min(limit, soft)
end

-- A tenant that turns out to have nothing left leaves its rota, and may have been the "other tenant
-- waiting" that held a higher priority's tenant at its share: then the priorities are read again.
local left = true
while left and got < want do
  left = false
  for s = 1, #KEYS do
    local rota, priority = KEYS[s], PRIORITIES[s]
    while got < want do
      local tenants = redis.call('LRANGE', rota, 0, -1)
      if #tenants == 0 then break end
      local waiting, first_waiting = 0, nil
      if soft > 0 then waiting, first_waiting = eligible_waiting() end
      -- The tenant running the fewest sessions goes next (rota order breaks ties), so a tenant that
      -- arrives behind another's thousands gets the next free slots until both run as many.
      local pick, fewest, pick_cap = nil, nil, 0
      for _, tenant in ipairs(tenants) do
        local running = num(redis.call('HGET', tr, tenant))
        local cap = cap_for(tenant, waiting, first_waiting)
        if (cap == 0 or running < cap) and (fewest == nil or running < fewest) then
          pick, fewest, pick_cap = tenant, running, cap
        end
      end
      if pick == nil then break end  -- every waiting tenant is at its limit
      -- alone in the rota, a tenant may take the whole claim in one read
      local room = (#tenants == 1) and (want - got) or 1
      if pick_cap > 0 then room = math.min(room, pick_cap - fewest) end
      local claimed, drained = claim_some(KEY.stream(priority, pick), priority, pick, room)
      got = got + claimed
      redis.call('LREM', rota, 1, pick)
      if drained then
        left = true
      else
        redis.call('RPUSH', rota, pick)  -- to the back of the turn order
      end
    end
    if got >= want then break end
  end
end
return out
