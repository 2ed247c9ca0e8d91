--[[
  erase: removes one lead from a generation of keys (right to erasure, docs/erasure.md), in one
  atomic step: its record, its place in its shard's schedule and query indexes, and what of it is
  still waiting in its shard's outbox and lead.stage.v1 snapshot stream; then, when asked, queues a
  lead.stage.v1 tombstone for it in that stream (the snapshot writer sends it in order). Mechanics
  only, like commit.lua.

  KEYS[1]  the lead's record string <prefix>:{NN}:<lead id>
  KEYS[2]  its shard's due sorted set
  KEYS[3]  its shard's outbox stream
  KEYS[4]  its shard's lead.stage.v1 snapshot stream
  KEYS[5..] its shard's query index sorted sets
  ARGV[1]  the lead id
  ARGV[2]  how many stream entries to look at per XRANGE call
  ARGV[3]  '1': queue a tombstone in the snapshot stream

  Returns { record, scheduled, outbox }: 1 when the record existed, 1 when it was scheduled, the
  number of outbox entries removed (stage changes never published now). The streams hold only
  what is not yet written to Kafka (normally a few entries, more while Kafka is down), so they
  are walked whole.
]]
local lead = ARGV[1]
local step = tonumber(ARGV[2])

local function drop(stream)
  local removed = 0
  local from = '-'
  while true do
    local entries = redis.call('XRANGE', stream, from, '+', 'COUNT', step)
    for _, e in ipairs(entries) do
      local fields = e[2]
      for f = 1, #fields, 2 do
        if fields[f] == 'lead' and fields[f + 1] == lead then
          redis.call('XDEL', stream, e[1])
          removed = removed + 1
        end
      end
    end
    if #entries < step then return removed end
    from = '(' .. entries[#entries][1]
  end
end

local record = redis.call('DEL', KEYS[1])
local scheduled = redis.call('ZREM', KEYS[2], lead)
local outbox = drop(KEYS[3])
drop(KEYS[4])
for i = 5, #KEYS do redis.call('ZREM', KEYS[i], lead) end
if ARGV[3] == '1' then redis.call('XADD', KEYS[4], '*', 'lead', lead, 't', '') end
return { record, scheduled, outbox }
