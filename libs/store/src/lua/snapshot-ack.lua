--[[
  snapshot-ack: removes snapshot entries the broker acknowledged, only while the writer still holds
  the shard's lease (a writer that lost it leaves them to the one that took over, which writes
  them again, in order: a repeat of the same records in the same order changes nothing).

  KEYS[1]   the shard's lease string <prefix>:{NN}#snaplease
  KEYS[2]   the shard's snapshot stream <prefix>:{NN}#snap
  ARGV[1]   this writer's token
  ARGV[2..] stream ids to remove

  Returns the number of entries removed, or -1 when the lease is not this writer's.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('XDEL', KEYS[2], unpack(ARGV, 2))
