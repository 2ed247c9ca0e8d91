--[[
  erase: removes one lead from a generation of keys (right to erasure, docs/erasure.md), in one
  atomic step: its record, its place in its shard's schedule, and the stage changes of it still
  waiting in its shard's outbox. Mechanics only, like commit.lua.

  KEYS[1]  the lead's record string <prefix>:{NN}:<lead id>
  KEYS[2]  its shard's due sorted set
  KEYS[3]  its shard's outbox stream
  ARGV[1]  the lead id
  ARGV[2]  how many outbox entries to look at per XRANGE call

  Returns { record, scheduled, outbox }: 1 when the record existed, 1 when it was scheduled,
  the number of outbox entries removed. The outbox holds only changes not yet acknowledged by
  Kafka (normally a few, more while Kafka is down), so it is walked whole.
]]
local lead = ARGV[1]
local step = tonumber(ARGV[2])
local record = redis.call('DEL', KEYS[1])
local scheduled = redis.call('ZREM', KEYS[2], lead)
local removed = 0
local from = '-'
while true do
  local entries = redis.call('XRANGE', KEYS[3], from, '+', 'COUNT', step)
  for _, e in ipairs(entries) do
    local fields = e[2]
    for f = 1, #fields, 2 do
      if fields[f] == 'lead' and fields[f + 1] == lead then
        redis.call('XDEL', KEYS[3], e[1])
        removed = removed + 1
      end
    end
  end
  if #entries < step then break end
  from = '(' .. entries[#entries][1]
end
return { record, scheduled, removed }
