-- KEYS: the priorities' rotas, in the order of PRIORITIES
-- The enqueue time (ms, from the entry id) of the oldest session not yet claimed, per priority; 0 when none.
local out = {}
for s = 1, #KEYS do
  local oldest = 0
  for _, tenant in ipairs(redis.call('LRANGE', KEYS[s], 0, -1)) do
    local stream = KEY.stream(PRIORITIES[s], tenant)
    local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', stream)
    if ok then
      for _, g in ipairs(groups) do
        local info = {}
        for k = 1, #g, 2 do info[g[k]] = g[k + 1] end
        if info['name'] == GROUP then
          local next_entry = redis.call('XRANGE', stream, '(' .. info['last-delivered-id'], '+', 'COUNT', 1)
          if #next_entry > 0 then
            local ms = tonumber(string.match(next_entry[1][1], '^(%d+)'))
            if oldest == 0 or ms < oldest then oldest = ms end
          end
        end
      end
    end
  end
  out[s] = oldest
end
return out
