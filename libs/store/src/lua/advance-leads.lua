--[[
  advance-leads (a Redis function body, see scripts.ts): moves leads of ONE shard whose
  scheduled time has come (fading scores,
  expiring signals), with no new event. Safe to run from several instances at once: a lead
  whose schedule moved, or that is already in its right stage, is left alone.

  KEYS[1]          the shard's outbox stream
  KEYS[2]          the shard's due sorted set
  KEYS[2+i]        lead i's state string
  ARGV[1]          now, epoch ms
  ARGV[2]          the lead ids, JSON array, in KEYS order
  ARGV[3]          history length to keep per lead

  Returns { moved, id1, json1, ... }: how many leads changed stage, then each recorded stage
  change's outbox stream id and JSON.
]]
if M.rule_by_id == nil then index_model(M) end
local now = tonumber(ARGV[1])
local ids = cjson.decode(ARGV[2])
local history_len = tonumber(ARGV[3])

local out = { 0 }
for i, lead_id in ipairs(ids) do
  local due = redis.call('ZSCORE', KEYS[2], lead_id)
  if due and tonumber(due) <= now then
    local state_key = KEYS[2 + i]
    if redis.call('EXISTS', state_key) == 0 then
      redis.call('ZREM', KEYS[2], lead_id)
    else
      local lead = load_lead(state_key, M)
      local tr = advance_to(lead.s, now, M)
      if tr ~= nil then
        local id, json = record_transition(KEYS[1], lead, history_len, lead_id, tr, now, M)
        out[1] = out[1] + 1
        out[#out + 1] = id
        out[#out + 1] = json
        save_lead(state_key, lead, now, M)
      end
      reschedule(KEYS[2], lead_id, lead.s, now, M)
    end
  end
end
return out
