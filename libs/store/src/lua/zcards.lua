--[[
  zcards: the cardinality of each sorted set, in one command (the funnel reads 64 shards x a few
  stages: one script instead of hundreds of ZCARDs, whose per-command cost dominated the request).
  Read-only.

  KEYS[1..n]   sorted sets (on Redis Cluster: of one slot, one call per shard)
  Returns { ZCARD(KEYS[1]), ..., ZCARD(KEYS[n]) }.
]]
local out = {}
for i = 1, #KEYS do out[i] = redis.call('ZCARD', KEYS[i]) end
return out
