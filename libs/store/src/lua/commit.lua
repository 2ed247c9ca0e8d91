--[[
  commit: compare-and-set of lead records, with their outbox entries and schedule, atomically
  per lead, guarded by the shards' state epoch and a partition's applied position. Mechanics
  only: the services compute every record with the scoring engine; this script checks versions
  and writes bytes. It knows nothing of the record's format.

  KEYS[3j-2], KEYS[3j-1], KEYS[3j]   shard j's outbox stream, due sorted set, and state hash
                                     ('epoch' and the applied position per partition)  (j = 1..m)
  KEYS[3m+i]             lead i's record string <prefix>:{NN}:<lead id> (i = 1..n)
  KEYS[3m+n+x]           further keys the writes' ops name by x (x = 1..k): query indexes and
                         snapshot streams, each of the shard of the lead whose op names it
  ARGV[1]                m, the number of shards in this call
  ARGV[2]                the writes, packed (big-endian), lead after lead in KEYS order, each:
    B      shard j: which shard of KEYS the lead belongs to
    I4 + e bytes   expected: the record as it was read, byte for byte; e = 0 when it did not exist
    I4 + v bytes   value: the new record; v = 0 keeps the stored one
    B [+ d]        due: 0 leaves the schedule, 1 removes the lead from it, 2 sets it to the
                   double that follows (epoch ms)
    I2             c, how many stage changes follow, each I4 + bytes (JSON), appended to the
                   shard's outbox in order
    I2             o, how many ops follow, done in order on keys of the lead's shard, the member
                   always the lead id; each B kind, I2 x (the key KEYS[3m+n+x]), then:
                     1  ZADD    + d score
                     2  ZADD NX + d score (keeps a score already there)
                     3  ZREM
                     4  ZADD with the server's time in microseconds as the score (the read API's
                        updatedSince order: one clock, the server's, so a commit that lands late
                        never sorts before one already read)
                     5  XADD 'lead' <lead id> 't' <I4 + bytes>
  ARGV[3]                the state epoch every shard's hash must hold; '' checks nothing
  ARGV[4]                the partition guard, packed, or '' for none: I2 + field (the partition),
                         then for each shard j in order: B expected kind (0: the field must be
                         absent, 1: it must equal the I4-prefixed string that follows) and
                         B next kind (0: leave it, 1: set it to the I4-prefixed string that follows)
  ARGV[5]                k, how many further keys follow the leads' ('' or absent: none)
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
local extra = tonumber(ARGV[5] or '') or 0
local leads = #KEYS - base - extra
local usec
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
for i = 1, leads do
  local key = KEYS[base + i]
  local j, elen, expected, vlen, value, dueKind, due, c, o
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
    local lead
    if dueKind ~= 0 or c > 0 then
      -- The lead id is what follows the hash tag: '<prefix>:{NN}:<lead id>'.
      lead = string.sub(key, string.find(key, '}:', 1, true) + 2)
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
    o, pos = struct.unpack('>I2', data, pos)
    if o > 0 and lead == nil then lead = string.sub(key, string.find(key, '}:', 1, true) + 2) end
    for _ = 1, o do
      local kind, x, score
      kind, x, pos = struct.unpack('>BI2', data, pos)
      local target = KEYS[base + leads + x]
      if kind == 1 or kind == 2 then
        score, pos = struct.unpack('>d', data, pos)
        if kind == 1 then redis.call('ZADD', target, score, lead) else redis.call('ZADD', target, 'NX', score, lead) end
      elseif kind == 3 then
        redis.call('ZREM', target, lead)
      elseif kind == 4 then
        if usec == nil then
          local t = redis.call('TIME')
          usec = tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        redis.call('ZADD', target, usec, lead)
      else
        local len
        len, pos = struct.unpack('>I4', data, pos)
        redis.call('XADD', target, '*', 'lead', lead, 't', string.sub(data, pos, pos + len - 1))
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
    o, pos = struct.unpack('>I2', data, pos)
    for _ = 1, o do
      local kind
      kind, _, pos = struct.unpack('>BI2', data, pos)
      if kind == 1 or kind == 2 then
        pos = pos + 8
      elseif kind == 5 then
        local len
        len, pos = struct.unpack('>I4', data, pos)
        pos = pos + len
      end
    end
    flags[i] = '0'
  end
end
for j, value in pairs(nexts) do redis.call('HSET', KEYS[3 * j], field, value) end
out[1] = table.concat(flags)
return out
