--[[
  snapshot-lease: takes or renews the lease on a shard's lead.stage.v1 writing. One writer per
  shard keeps a lead's snapshots in sequence order on the compacted topic (two writers could
  interleave an older record after a newer one).

  KEYS[1]   the shard's lease string <prefix>:{NN}#snaplease
  KEYS[2]   the shard's state hash <prefix>:{NN}#state
  ARGV[1]   this writer's token
  ARGV[2]   lease time, ms

  Returns 1 when this writer holds the lease (taken or renewed for ARGV[2] ms), 0 when another does
  or when the shard holds no state epoch (a generation a rescore deleted, which a writer that has
  not switched yet must not bring back a key of).
]]
if redis.call('HGET', KEYS[2], 'epoch') == false then return 0 end
local held = redis.call('GET', KEYS[1])
if held == false or held == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
