--[[
  commit: compare-and-set of lead records, with their outbox entries and schedule, atomically
  per lead, guarded by the shards' state epoch and a partition's applied position. Mechanics
  only: the services compute every record with the scoring engine; this script checks versions
  and writes bytes. It knows nothing of the record's format.

  KEYS[3j-2], KEYS[3j-1], KEYS[3j]   shard j's outbox stream, due sorted set, and state hash
                                     ('epoch' and the applied position per partition)  (j = 1..m)
  KEYS[3m+i]             lead i's record string <prefix>:{NN}:<lead id> (i = 1..n)
  ARGV[1]                m, the number of shards in this call
  ARGV[2]                the writes, packed (big-endian), lead after lead in KEYS order, each:
    B      shard j: which shard of KEYS the lead belongs to
    I4 + e bytes   expected: the record as it was read, byte for byte; e = 0 when it did not exist
    I4 + v bytes   value: the new record; v = 0 keeps the stored one
    B [+ d]        due: 0 leaves the schedule, 1 removes the lead from it, 2 sets it to the
                   double that follows (epoch ms)
    I2             c, how many stage changes follow, each I4 + bytes (JSON), appended to the
                   shard's outbox in order
  ARGV[3]                the state epoch every shard's hash must hold; '' checks nothing
  ARGV[4]                the partition guard, packed, or '' for none: I2 + field (the partition),
                         then for each shard j in order: B expected kind (0: the field must be
                         absent, 1: it must equal the I4-prefixed string that follows) and
                         B next kind (0: leave it, 1: set it to the I4-prefixed string that follows)
  One packed argument instead of six per lead: a client spends more time encoding many small
  arguments than Redis spends reading one string (store.ts, commitCall).

  Returns { flags, id1, id2, ... }: flags has one character per lead, '1' written, '0' skipped
  because the stored record is no longer the one expected (another writer got there first:
  nothing of that lead was written); then the outbox stream ids of the written leads' stage
  changes, in order. Or, with nothing written at all: { '!epoch', j, held } when shard j does not
  hold the epoch (Redis lost or replaced its data; or a rescore retired this generation of keys,
  then `held` says so), { '!fenced', j } when shard j's position of the
  partition is not the one expected (Redis went back in time, or another consumer moved it).
]]
local m = tonumber(ARGV[1])
local base = 3 * m
local epoch = ARGV[3]
local guard = ARGV[4]

if epoch ~= '' then
  for j = 1, m do
    local held = redis.call('HGET', KEYS[3 * j], 'epoch')
    if held ~= epoch then return { '!epoch', j, held or '' } end
  end
end
local field
local gpos = 1
local nexts = {}
if guard ~= '' then
  local flen
  flen, gpos = struct.unpack('>I2', guard, gpos)
  field = string.sub(guard, gpos, gpos + flen - 1)
  gpos = gpos + flen
  for j = 1, m do
    local kind, len
    kind, gpos = struct.unpack('>B', guard, gpos)
    local current = redis.call('HGET', KEYS[3 * j], field)
    if kind == 0 then
      if current ~= false then return { '!fenced', j } end
    else
      len, gpos = struct.unpack('>I4', guard, gpos)
      if current ~= string.sub(guard, gpos, gpos + len - 1) then return { '!fenced', j } end
      gpos = gpos + len
    end
    kind, gpos = struct.unpack('>B', guard, gpos)
    if kind == 1 then
      len, gpos = struct.unpack('>I4', guard, gpos)
      nexts[j] = string.sub(guard, gpos, gpos + len - 1)
      gpos = gpos + len
    end
  end
end

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
    if vlen > 0 then redis.call('SET', key, value) end
    if dueKind ~= 0 or c > 0 then
      -- The lead id is what follows the hash tag: '<prefix>:{NN}:<lead id>'.
      local lead = string.sub(key, string.find(key, '}:', 1, true) + 2)
      if dueKind == 1 then
        redis.call('ZREM', KEYS[3 * j - 1], lead)
      elseif dueKind == 2 then
        redis.call('ZADD', KEYS[3 * j - 1], due, lead)
      end
      for _ = 1, c do
        local len
        len, pos = struct.unpack('>I4', data, pos)
        out[#out + 1] = redis.call('XADD', KEYS[3 * j - 2], '*', 'lead', lead, 't', string.sub(data, pos, pos + len - 1))
        pos = pos + len
      end
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
for j, value in pairs(nexts) do redis.call('HSET', KEYS[3 * j], field, value) end
out[1] = table.concat(flags)
return out
