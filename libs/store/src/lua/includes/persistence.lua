-- Reading and writing a lead's state, its outbox records and its schedule.
-- The state string is MessagePack of { s = engine state, o = { [source] = last applied offset } }.

local function load_lead(key, M)
  local raw = redis.call('GET', key)
  if not raw then return { s = new_state(M), o = {} } end
  local blob = cmsgpack.unpack(raw)
  -- MessagePack turns empty maps into empty arrays: both are empty tables here.
  blob.s.c = blob.s.c or {}
  blob.s.caps = blob.s.caps or {}
  blob.s.sig = blob.s.sig or {}
  blob.o = blob.o or {}
  return blob
end

local function save_lead(key, blob)
  redis.call('SET', key, cmsgpack.pack(blob))
end

-- Appends a stage change to the shard's outbox and the lead's history; returns the stream id.
local function record_transition(outbox_key, history_key, history_len, lead_id, tr, now, M)
  tr.lead = lead_id
  tr.modelVersion = M.version
  tr.at = now
  local json = cjson.encode(tr)
  local id = redis.call('XADD', outbox_key, '*', 'lead', lead_id, 't', json)
  redis.call('LPUSH', history_key, json)
  redis.call('LTRIM', history_key, 0, history_len - 1)
  return id, json
end

local function reschedule(due_key, lead_id, S, now, M)
  local at = next_change_at(S, now, M)
  if at == nil then
    redis.call('ZREM', due_key, lead_id)
  else
    redis.call('ZADD', due_key, at, lead_id)
  end
end
