--[[
  apply-events: applies a chunk of events for leads of ONE shard, atomically. The body of a
  Redis function (see scripts.ts): the model M and the engine functions are library-level
  upvalues, built once when the library is loaded, not on every call.

  KEYS[1]          the shard's outbox stream
  KEYS[2]          the shard's due sorted set (time-driven changes)
  KEYS[2+2i-1]     lead i's state string        (i = 1..n)
  KEYS[2+2i]       lead i's history list
  ARGV[1]          now, epoch ms (read once at the edge, passed in)
  ARGV[2]          the events, JSON array in partition order:
                   { i = lead index (1..n), lead = id, src = offset source, off = offset, e = effect }
  ARGV[3]          history length to keep per lead

  Returns { outcomes, id1, json1, id2, json2, ... }: outcomes has one character per event,
  'a' applied, 'o' already applied (Kafka offset at or below the watermark), 'd' duplicate
  event id, 'f' machine activity (filtered); then each recorded stage change's outbox stream
  id and JSON, in order.

  Idempotent by construction: a redelivered message is at or below its source's offset
  watermark; an upstream duplicate is in the lead's dedupe ring.
]]
if M.rule_by_id == nil then index_model(M) end
local now = tonumber(ARGV[1])
local events = cjson.decode(ARGV[2])
local history_len = tonumber(ARGV[3])

local leads = {}
local outcomes = {}
local out = { '' }
for _, ev in ipairs(events) do
  local lead = leads[ev.i]
  if lead == nil then
    lead = load_lead(KEYS[2 + 2 * ev.i - 1], M)
    leads[ev.i] = lead
    lead.id = ev.lead
    lead.dirty = false
  end
  local mark = lead.o[ev.src]
  if mark ~= nil and ev.off <= mark then
    outcomes[#outcomes + 1] = 'o'
  else
    lead.o[ev.src] = ev.off
    lead.dirty = true
    local outcome, tr = apply_effect(lead.s, ev.e, now, M)
    if outcome == 'filtered' then
      outcomes[#outcomes + 1] = 'f'
    elseif outcome == 'duplicate' then
      outcomes[#outcomes + 1] = 'd'
    else
      outcomes[#outcomes + 1] = 'a'
    end
    if tr ~= nil then
      local id, json = record_transition(KEYS[1], KEYS[2 + 2 * ev.i], history_len, ev.lead, tr, now, M)
      out[#out + 1] = id
      out[#out + 1] = json
    end
  end
end

for i, lead in pairs(leads) do
  if lead.dirty then
    local id = lead.id
    lead.id = nil
    lead.dirty = nil
    save_lead(KEYS[2 + 2 * i - 1], lead)
    reschedule(KEYS[2], id, lead.s, now, M)
  end
end

out[1] = table.concat(outcomes)
return out
