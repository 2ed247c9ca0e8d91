-- Reading and writing a lead's state string, its outbox records and its schedule.
--
-- In memory a lead is { s = engine state (see engine.lua), o = { [source] = last applied Kafka
-- offset }, h = { history entry... } }, history newest first, each entry
-- { seq, from, to, cause kind, cause rule id or '', cause detail, at, event time }.
--
-- Stored, it is MessagePack of a flat, integer-heavy list (format 2), because this string is
-- most of Redis's memory per lead and MessagePack spends 9 bytes on an epoch-ms time or a
-- fractional number but 1-5 on a small integer, and a list spends no bytes on field names:
--   [1]  2                             format
--   [2]  base time in whole seconds    (the call's now); with b = base * 1000, every other
--                                      time t (epoch ms) is stored as b - t
--   [3]  stage name   [4] transition count   [5] dedupe ring (raw bytes, 4 per event hash)
--   [6]  { ix, n, dt, ... }            contributions: rule position, value in millionths,
--                                      b - reference time (values are rounded to 1e-6, so
--                                      n / 1e6 gives back the very same double)
--   [7]  { ix, w, m, h1..hm, ... }     cap windows: rule position, window index, hit count, hit
--                                      times as distances from the rule's contribution time (0
--                                      for its latest hit: one byte)
--   [8]  { name, dt, ... }             signals
--   [9]  { dt, hash, ix... }           latest profile (event hash as 4 raw bytes) and its fit
--                                      rule positions
--   [10] { kind, dt, hash, 0/1 }       latest sales verdict (hash raw) and whether BANT passed
--   [11] dt                            latest disqualifying hit
--   [12] { [source] = offset }         Kafka offset watermarks
--   [13] { seq, from, to, kind, rule or '', detail, b - at, at - event time, ... }  history
-- An absent part is `false`. libs/store/src/state-codec.ts reads it for the read API. Format 1
-- (nested tables with epoch-ms times, history in a list of its own, longer key names) never
-- shipped in a release and is not read.

local FORMAT = 2

-- 4 raw bytes as the 8 hex characters the engine uses for an event hash.
local function hash_hex(bytes)
  return string.format('%02x%02x%02x%02x', string.byte(bytes, 1, 4))
end

-- Cap hits are stored relative to the rule's contribution time, which is usually the latest hit.
local function cap_reference(S, ix, b)
  local c = S.c[ix]
  if c ~= nil then return c[2] end
  return b
end

local function decode_history(stored, b)
  local h = {}
  if not stored then return h end
  for i = 1, #stored, 8 do
    local at = b - stored[i + 6]
    h[#h + 1] = { stored[i], stored[i + 1], stored[i + 2], stored[i + 3], stored[i + 4], stored[i + 5], at, at - stored[i + 7] }
  end
  return h
end

local function decode_lead(raw, M)
  local blob = cmsgpack.unpack(raw)
  if blob[1] ~= FORMAT then error('lead state in unknown format ' .. tostring(blob[1])) end
  local b = blob[2] * 1000
  local S = { stage = blob[3], seq = blob[4], ring = blob[5], c = {}, caps = {}, sig = {} }
  local c = blob[6]
  if c then
    for i = 1, #c, 3 do S.c[c[i]] = { c[i + 1] / 1e6, b - c[i + 2] } end
  end
  local k = blob[7]
  if k then
    local i = 1
    while i <= #k do
      local ix, m = k[i], k[i + 2]
      local ref = cap_reference(S, ix, b)
      local window = { k[i + 1] }
      for j = 1, m do window[j + 1] = ref - k[i + 2 + j] end
      S.caps[ix] = window
      i = i + 3 + m
    end
  end
  local g = blob[8]
  if g then
    for i = 1, #g, 2 do S.sig[g[i]] = b - g[i + 1] end
  end
  local fi = blob[9]
  if fi then
    S.fit = { t = b - fi[1], h = hash_hex(fi[2]) }
    if #fi > 2 then
      S.fit.r = {}
      for i = 3, #fi do S.fit.r[i - 2] = fi[i] end
    end
  end
  local sa = blob[10]
  if sa then S.sales = { k = sa[1], t = b - sa[2], h = hash_hex(sa[3]), b = sa[4] == 1 } end
  if blob[11] then S.dq = b - blob[11] end
  local o = blob[12]
  if not o or o[1] ~= nil then o = {} end
  return { s = S, o = o, h = decode_history(blob[13], b) }
end

local function encode_lead(lead, now, M)
  local S = lead.s
  local base = math.floor(now / 1000)
  local b = base * 1000
  -- In rule position order, so the same state always encodes to the same bytes. Positions of
  -- rules this model does not have (retired, or added by a newer model during a rolling
  -- deploy) are kept as they are.
  local c, n = {}, 0
  for ix = 1, math.max(M.max_ix, table.maxn(S.c)) do
    local e = S.c[ix]
    if e ~= nil then
      c[n + 1], c[n + 2], c[n + 3] = ix, math.floor(e[1] * 1e6 + 0.5), b - e[2]
      n = n + 3
    end
  end
  local k, m = {}, 0
  for ix = 1, math.max(M.max_ix, table.maxn(S.caps)) do
    local window = S.caps[ix]
    if window ~= nil then
      local ref = cap_reference(S, ix, b)
      k[m + 1], k[m + 2], k[m + 3] = ix, window[1], #window - 1
      m = m + 3
      for j = 2, #window do
        m = m + 1
        k[m] = ref - window[j]
      end
    end
  end
  local g = {}
  for name, t in pairs(S.sig) do
    g[#g + 1] = name
    g[#g + 1] = b - t
  end
  local fi = false
  if S.fit ~= nil then
    fi = { b - S.fit.t, hash_bytes(S.fit.h) }
    if S.fit.r ~= nil then
      for _, ix in ipairs(S.fit.r) do fi[#fi + 1] = ix end
    end
  end
  local sa = false
  if S.sales ~= nil then
    local passed = 0
    if S.sales.b then passed = 1 end
    sa = { S.sales.k, b - S.sales.t, hash_bytes(S.sales.h), passed }
  end
  local dq = false
  if S.dq ~= nil then dq = b - S.dq end
  local h = false
  if #lead.h > 0 then
    h = {}
    for _, e in ipairs(lead.h) do
      local n0 = #h
      h[n0 + 1], h[n0 + 2], h[n0 + 3], h[n0 + 4] = e[1], e[2], e[3], e[4]
      h[n0 + 5], h[n0 + 6], h[n0 + 7], h[n0 + 8] = e[5], e[6], b - e[7], e[7] - e[8]
    end
  end
  local o = false
  if next(lead.o) ~= nil then o = lead.o end
  return cmsgpack.pack({
    FORMAT, base, S.stage, S.seq, S.ring,
    n > 0 and c, m > 0 and k, #g > 0 and g, fi, sa, dq, o, h,
  })
end

local function load_lead(key, M)
  local raw = redis.call('GET', key)
  if not raw then return { s = new_state(M), o = {}, h = {} } end
  return decode_lead(raw, M)
end

local function save_lead(key, lead, now, M)
  redis.call('SET', key, encode_lead(lead, now, M))
end

-- Appends a stage change to the shard's outbox and to the lead's history (kept in its state,
-- newest first, at most history_len entries); returns the outbox stream id and the JSON.
local function record_transition(outbox_key, lead, history_len, lead_id, tr, now, M)
  tr.lead = lead_id
  tr.modelVersion = M.version
  tr.at = now
  local json = cjson.encode(tr)
  local id = redis.call('XADD', outbox_key, '*', 'lead', lead_id, 't', json)
  table.insert(lead.h, 1, { tr.seq, tr.from, tr.to, tr.cause.kind, tr.cause.ruleId or '', tr.cause.detail, now, tr.eventTime })
  while #lead.h > history_len do table.remove(lead.h) end
  return id, json
end

local function reschedule(due_key, lead_id, S, now, M, scores)
  local at = next_change_at(S, now, M, scores)
  if at == nil then
    redis.call('ZREM', due_key, lead_id)
  else
    redis.call('ZADD', due_key, at, lead_id)
  end
end
