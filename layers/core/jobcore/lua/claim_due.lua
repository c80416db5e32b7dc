-- Claim the members of a due-time sorted set whose time has come, pushing each `lease` seconds
-- ahead so a second sender does not take them too; a sender that dies leaves them to be retried.
-- KEYS[1] the sorted set; ARGV: now, lease seconds, limit
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), member)
end
return due
