--[[
  commit: compare-and-set of lead records, with their outbox entries and schedule, atomically
  per lead. Mechanics only: the services compute every record with the scoring engine; this
  script checks versions and writes bytes. It knows nothing of the record's format.

  KEYS[2j-1], KEYS[2j]   shard j's outbox stream and due sorted set    (j = 1..m)
  KEYS[2m+i]             lead i's record string                       (i = 1..n)
  ARGV[1]                m, the number of shards in this call
  then for each lead i, in KEYS order, 6 + c values:
    shard j         which shard pair of KEYS the lead belongs to
    expected        the record as it was read, byte for byte; '' when it did not exist
    value           the new record; '' keeps the stored one
    due             the next time-driven change, epoch ms; '' leaves the schedule, '-' removes it
    lead id         member of the due set and of the outbox entries
    c               how many stage changes follow
    c values        the stage changes (JSON), appended to the shard's outbox in order

  Returns { flags, id1, id2, ... }: flags has one character per lead, '1' written, '0' skipped
  because the stored record is no longer the one expected (another writer got there first:
  nothing of that lead was written); then the outbox stream ids of the written leads' stage
  changes, in order.
]]
local m = tonumber(ARGV[1])
local base = 2 * m
local flags = {}
local out = { '' }
local a = 2
for i = 1, #KEYS - base do
  local j = tonumber(ARGV[a])
  local expected = ARGV[a + 1]
  local value = ARGV[a + 2]
  local due = ARGV[a + 3]
  local lead = ARGV[a + 4]
  local c = tonumber(ARGV[a + 5])
  a = a + 6
  local key = KEYS[base + i]
  local current = redis.call('GET', key)
  local same
  if expected == '' then same = (current == false) else same = (current == expected) end
  if same then
    if value ~= '' then redis.call('SET', key, value) end
    if due == '-' then
      redis.call('ZREM', KEYS[2 * j], lead)
    elseif due ~= '' then
      redis.call('ZADD', KEYS[2 * j], due, lead)
    end
    for k = 0, c - 1 do
      out[#out + 1] = redis.call('XADD', KEYS[2 * j - 1], '*', 'lead', lead, 't', ARGV[a + k])
    end
    flags[i] = '1'
  else
    flags[i] = '0'
  end
  a = a + c
end
out[1] = table.concat(flags)
return out
