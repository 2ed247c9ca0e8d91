--[[
  commit: compare-and-set of lead records, with their outbox entries and schedule, atomically
  per lead. Mechanics only: the services compute every record with the scoring engine; this
  script checks versions and writes bytes. It knows nothing of the record's format.

  KEYS[2j-1], KEYS[2j]   shard j's outbox stream and due sorted set    (j = 1..m)
  KEYS[2m+i]             lead i's record string <prefix>:{NN}:<lead id> (i = 1..n)
  ARGV[1]                m, the number of shards in this call
  ARGV[2]                the writes, packed (big-endian), lead after lead in KEYS order, each:
    B      shard j: which shard pair of KEYS the lead belongs to
    I4 + e bytes   expected: the record as it was read, byte for byte; e = 0 when it did not exist
    I4 + v bytes   value: the new record; v = 0 keeps the stored one
    B [+ d]        due: 0 leaves the schedule, 1 removes the lead from it, 2 sets it to the
                   double that follows (epoch ms)
    I2             c, how many stage changes follow, each I4 + bytes (JSON), appended to the
                   shard's outbox in order
  One packed argument instead of six per lead: a client spends more time encoding many small
  arguments than Redis spends reading one string (store.ts, commitArgs).

  Returns { flags, id1, id2, ... }: flags has one character per lead, '1' written, '0' skipped
  because the stored record is no longer the one expected (another writer got there first:
  nothing of that lead was written); then the outbox stream ids of the written leads' stage
  changes, in order.
]]
local m = tonumber(ARGV[1])
local base = 2 * m
local data = ARGV[2]
local pos = 1
local flags = {}
local out = { '' }
for i = 1, #KEYS - base do
  local key = KEYS[base + i]
  local j, elen, expected, vlen, value, dueKind, due, c
  j, elen, pos = struct.unpack('>BI4', data, pos)
  expected = string.sub(data, pos, pos + elen - 1)
  pos = pos + elen
  vlen, pos = struct.unpack('>I4', data, pos)
  value = string.sub(data, pos, pos + vlen - 1)
  pos = pos + vlen
  dueKind, pos = struct.unpack('>B', data, pos)
  if dueKind == 2 then due, pos = struct.unpack('>d', data, pos) end
  c, pos = struct.unpack('>I2', data, pos)
  local current = redis.call('GET', key)
  local same
  if elen == 0 then same = (current == false) else same = (current == expected) end
  if same then
    -- The lead id is what follows the hash tag: '<prefix>:{NN}:<lead id>'.
    local lead = string.sub(key, string.find(key, '}:', 1, true) + 2)
    if vlen > 0 then redis.call('SET', key, value) end
    if dueKind == 1 then
      redis.call('ZREM', KEYS[2 * j], lead)
    elseif dueKind == 2 then
      redis.call('ZADD', KEYS[2 * j], due, lead)
    end
    for _ = 1, c do
      local len
      len, pos = struct.unpack('>I4', data, pos)
      out[#out + 1] = redis.call('XADD', KEYS[2 * j - 1], '*', 'lead', lead, 't', string.sub(data, pos, pos + len - 1))
      pos = pos + len
    end
    flags[i] = '1'
  else
    for _ = 1, c do
      local len
      len, pos = struct.unpack('>I4', data, pos)
      pos = pos + len
    end
    flags[i] = '0'
  end
end
out[1] = table.concat(flags)
return out
