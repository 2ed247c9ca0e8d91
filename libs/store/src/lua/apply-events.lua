--[[
  apply-events: applies a chunk of events atomically. The body of a Redis function (see
  scripts.ts): the model M and the engine functions are library-level upvalues, built once when
  the library is loaded, not on every call. On a single Redis one call may span many shards; on
  Redis Cluster the caller sends one shard per call (its keys share one hash slot).

  KEYS[2j-1], KEYS[2j]   shard j's outbox stream and due sorted set   (j = 1..m)
  KEYS[2m+i]             lead i's state string                        (i = 1..n)
  ARGV[1]                now, epoch ms (read once at the edge, passed in)
  ARGV[2]                JSON { l = { { lead id, shard j }... },  in KEYS order
                                e = { { lead i, offset source, offset, effect }... } } in partition order
  ARGV[3]                history length to keep per lead
  ARGV[4]                m, the number of shards in this call

  Returns { outcomes, id1, json1, id2, json2, ... }: outcomes has one character per event,
  'a' applied, 'o' already applied (Kafka offset at or below the watermark), 'd' duplicate
  event id, 'f' machine activity (filtered); then each recorded stage change's outbox stream
  id and JSON, in order.

  Idempotent by construction: a redelivered message is at or below its source's offset
  watermark; an upstream duplicate is in the lead's dedupe ring.
]]
if M.rule_by_id == nil then index_model(M) end
local now = tonumber(ARGV[1])
local arg = cjson.decode(ARGV[2])
local history_len = tonumber(ARGV[3])
local base = 2 * tonumber(ARGV[4])
local lead_ids = arg.l

local leads = {}
local outcomes = {}
local out = { '' }
for n, ev in ipairs(arg.e) do
  local i = ev[1]
  local lead = leads[i]
  if lead == nil then
    lead = load_lead(KEYS[base + i], M)
    leads[i] = lead
    lead.dirty = false
  end
  local src, off = ev[2], ev[3]
  local mark = lead.o[src]
  if mark ~= nil and off <= mark then
    outcomes[n] = 'o'
  else
    lead.o[src] = off
    lead.dirty = true
    local outcome, tr, _, scores = apply_effect(lead.s, ev[4], now, M)
    if outcome == 'filtered' then
      outcomes[n] = 'f'
    elseif outcome == 'duplicate' then
      outcomes[n] = 'd'
    else
      outcomes[n] = 'a'
      lead.scores = scores
    end
    if tr ~= nil then
      local shard = lead_ids[i][2]
      local id, json = record_transition(KEYS[2 * shard - 1], lead, history_len, lead_ids[i][1], tr, now, M)
      out[#out + 1] = id
      out[#out + 1] = json
    end
  end
end

for i, lead in pairs(leads) do
  if lead.dirty then
    save_lead(KEYS[base + i], lead, now, M)
    -- Only an applied event changes what time alone will do; its scores are those at now.
    if lead.scores ~= nil then
      reschedule(KEYS[2 * lead_ids[i][2]], lead_ids[i][1], lead.s, now, M, lead.scores)
    end
  end
end

out[1] = table.concat(outcomes)
return out
