-- The scoring engine's stateful part in Lua: a line-by-line port of libs/engine
-- (apply.ts applyEffect, stage.ts, time.ts nextChangeAt / advanceTo). The TypeScript engine is
-- the oracle: the differential tests in libs/store check this file against it.
--
-- M is the compiled script model (libs/store/src/script-model.ts), decoded once per call:
--   M.dims[i]   = { name, h }                    h = half-life ms, 0 = does not decay
--   M.rules[i]  = { id, ix, d, p, fit, cap, sig }  in model order; ix = the rule's position in
--                 stored states (stable across model versions: a registry in Redis assigns it),
--                 d = dimension index (0 = none), cap = { n, w }
--   M.ladder[i] = { name, enter = {cond...}, stay = {cond...} }   lowest first
--   cond        = { k = 'score', d, gte } | { k = 'signal', s, w } | { k = 'sales' }
--   M.dedupe    = dedupe ring size (entries of 8 hex chars)
-- State S (the engine's LeadState, stored compactly: see state-codec.ts for the mapping):
--   stage, seq, ring = the dedupe ring as raw bytes (4 per event hash), c[rule index] = {v, t},
--   caps[rule index] = {w, hit times ascending...}, sig[name] = time, fit = {t, h, r = {rule
--   index...}}, sales = {k, t, h, b}, dq. Rule positions (ix, see above) instead of
--   rule ids keep the state small: it is most of the Redis memory per lead.

local DISQUALIFIED = 'disqualified'

local function q(x)
  return math.floor(x * 1e6 + 0.5) / 1e6
end

local function decay(now, t, h)
  return 2 ^ (-(now - t) / h)
end

local function index_model(M)
  M.rule_by_id = {}
  M.rule_by_ix = {}
  M.max_ix = 0
  for _, r in ipairs(M.rules) do
    M.rule_by_id[r.id] = r
    M.rule_by_ix[r.ix] = r
    if r.ix > M.max_ix then M.max_ix = r.ix end
  end
  M.ladder_index = {}
  for i, s in ipairs(M.ladder) do M.ladder_index[s.name] = i end
  -- The rules that decay, in model order: { position, dimension, half-life } each.
  M.decaying = {}
  for _, r in ipairs(M.rules) do
    if not r.fit and r.d > 0 and M.dims[r.d].h > 0 then
      M.decaying[#M.decaying + 1] = { r.ix, r.d, M.dims[r.d].h }
    end
  end
  return M
end

local function new_state(M)
  return { stage = M.ladder[1].name, seq = 0, ring = '', c = {}, caps = {}, sig = {} }
end

-- Scores by dimension index, summed in model rule order (arrival order never matters).
local function dimension_scores(S, now, M)
  local scores = {}
  for i = 1, #M.dims do scores[i] = 0 end
  local contributions = S.c
  for _, r in ipairs(M.decaying) do
    local c = contributions[r[1]]
    if c ~= nil then
      local d = r[2]
      scores[d] = scores[d] + c[1] * 2 ^ (-(now - c[2]) / r[3])
    end
  end
  if S.fit ~= nil and S.fit.r ~= nil then
    for _, ix in ipairs(S.fit.r) do
      local r = M.rule_by_ix[ix]
      if r ~= nil and r.fit and r.d > 0 then scores[r.d] = scores[r.d] + r.p end
    end
  end
  return scores
end

local function score_record(scores, M)
  local out = {}
  for i, d in ipairs(M.dims) do out[d.name] = q(scores[i]) end
  return out
end

local function is_disqualified(S)
  if S.sales ~= nil and S.sales.k == 'rejected' then return true end
  return S.dq ~= nil and (S.sales == nil or S.sales.t < S.dq)
end

local function is_sales_qualified(S)
  return S.sales ~= nil and S.sales.k == 'accepted' and S.sales.b == true
end

local function holds(c, scores, S, now)
  if c.k == 'score' then return scores[c.d] >= c.gte end
  if c.k == 'signal' then
    local t = S.sig[c.s]
    return t ~= nil and now - t <= c.w
  end
  return is_sales_qualified(S)
end

local function all_hold(conds, scores, S, now)
  for _, c in ipairs(conds) do
    if not holds(c, scores, S, now) then return false end
  end
  return true
end

-- Ladder position (1-based); 0 for disqualified or a stage the model no longer has.
local function ladder_index(M, stage)
  return M.ladder_index[stage] or 0
end

local function next_stage(S, scores, now, M)
  if is_disqualified(S) then return DISQUALIFIED end
  local current = ladder_index(M, S.stage)
  for i = #M.ladder, 2, -1 do
    local stage = M.ladder[i]
    local conds = stage.stay
    if i > current then conds = stage.enter end
    if all_hold(conds, scores, S, now) then return stage.name end
  end
  return M.ladder[1].name
end

local function evaluate_stage(S, now, M)
  return next_stage(S, dimension_scores(S, now, M), now, M)
end

-- Number formatting as JavaScript's String(n) prints the values we show (short decimals).
local function num(x)
  if x == math.floor(x) and math.abs(x) < 1e15 then return string.format('%d', x) end
  return string.format('%.14g', x)
end

local function shortest(x, ok)
  for _, digits in ipairs({ 1, 2, 4, 6 }) do
    local v = tonumber(string.format('%.' .. digits .. 'f', x))
    if ok(v) then return num(v) end
  end
  return num(x)
end

local UNITS = { { 'd', 86400000 }, { 'h', 3600000 }, { 'm', 60000 }, { 's', 1000 } }

local function format_duration(ms)
  for _, u in ipairs(UNITS) do
    if ms >= u[2] and ms % u[2] == 0 then return num(ms / u[2]) .. u[1] end
  end
  return num(ms) .. 'ms'
end

local function deciding_conditions(from, to, scores, S, now, M)
  local from_idx, to_idx = ladder_index(M, from), ladder_index(M, to)
  if to_idx > from_idx then return M.ladder[to_idx].enter, true end
  local failing = {}
  for _, c in ipairs(M.ladder[from_idx].stay) do
    if not holds(c, scores, S, now) then failing[#failing + 1] = c end
  end
  return failing, false
end

local function describe_conditions(conds, up, scores, S, M)
  local parts = {}
  for _, c in ipairs(conds) do
    if c.k == 'score' then
      local gte = c.gte
      local shown = shortest(scores[c.d], function(v) if up then return v >= gte end return v < gte end)
      local op = '<'
      if up then op = '>=' end
      parts[#parts + 1] = M.dims[c.d].name .. ' ' .. shown .. ' ' .. op .. ' ' .. num(gte)
    elseif c.k == 'signal' then
      local within = format_duration(c.w)
      if up then
        parts[#parts + 1] = c.s .. ' within ' .. within
      elseif S.sig[c.s] == nil then
        parts[#parts + 1] = 'no ' .. c.s
      else
        parts[#parts + 1] = c.s .. ' older than ' .. within
      end
    elseif up then
      parts[#parts + 1] = 'sales qualified (BANT passed)'
    else
      parts[#parts + 1] = 'no longer sales qualified'
    end
  end
  return table.concat(parts, ', ')
end

-- Of the rules the event hit, the one with the most points on a score or signal that decided.
local function relevant_rule(effect, conds, M)
  local best, best_points = nil, -1
  local ids = {}
  for _, id in ipairs(effect.hits) do ids[#ids + 1] = id end
  if effect.fit ~= nil then
    for _, id in ipairs(effect.fit) do ids[#ids + 1] = id end
  end
  for _, id in ipairs(ids) do
    local r = M.rule_by_id[id]
    if r ~= nil then
      local relevant = false
      for _, c in ipairs(conds) do
        if (c.k == 'score' and r.d > 0 and c.d == r.d) or (c.k == 'signal' and r.sig ~= nil and c.s == r.sig) then
          relevant = true
        end
      end
      if relevant and math.abs(r.p) > best_points then
        best, best_points = id, math.abs(r.p)
      end
    end
  end
  return best
end

local function event_cause(from, to, S, effect, scores, now, M)
  if to == DISQUALIFIED then
    if S.sales ~= nil and S.sales.k == 'rejected' then
      return { kind = 'sales-verdict', detail = 'sales verdict rejected' }
    end
    if effect.disqualify ~= nil then
      return { kind = 'disqualified', ruleId = effect.disqualify, detail = 'rule ' .. effect.disqualify .. ' disqualifies' }
    end
    return { kind = 'disqualified', detail = 'a disqualifying event is newer than the sales verdict' }
  end
  local conds, up = deciding_conditions(from, to, scores, S, now, M)
  local detail = describe_conditions(conds, up, scores, S, M)
  if from == DISQUALIFIED and effect.sales ~= nil then
    local kind = 'sales-verdict'
    if effect.sales.kind == 'reopened' then kind = 'reopened' end
    local d = 'sales verdict ' .. effect.sales.kind
    if detail ~= '' then d = d .. '; ' .. detail end
    return { kind = kind, detail = d }
  end
  if effect.sales ~= nil then
    for _, c in ipairs(conds) do
      if c.k == 'sales' then
        if detail == '' then detail = 'sales verdict ' .. effect.sales.kind end
        return { kind = 'sales-verdict', detail = detail }
      end
    end
  end
  local rule_id = relevant_rule(effect, conds, M)
  if rule_id ~= nil then return { kind = 'rule', ruleId = rule_id, detail = detail } end
  if detail == '' then detail = 'now ' .. to end
  return { kind = 'threshold', detail = detail }
end

-- An event hash (8 hex characters) as the 4 raw bytes the ring stores.
local function hash_bytes(hex)
  return string.char(
    tonumber(string.sub(hex, 1, 2), 16),
    tonumber(string.sub(hex, 3, 4), 16),
    tonumber(string.sub(hex, 5, 6), 16),
    tonumber(string.sub(hex, 7, 8), 16)
  )
end

local function ring_has(ring, bytes)
  for i = 1, #ring, 4 do
    if string.sub(ring, i, i + 3) == bytes then return true end
  end
  return false
end

-- Updates the contribution c = { v, t } in place (a new one when nil) and returns it.
local function add_points(c, p, te, h)
  if c == nil then return { q(p), te } end
  local v, t = c[1], c[2]
  if te <= t then
    c[1] = q(v + p * decay(t, te, h))
  else
    c[1] = q(v * decay(te, t, h) + p)
    c[2] = te
  end
  return c
end

-- A copy of {w, times...} with t inserted among the times, after equal ones.
local function insert_hit(window, t)
  local out = {}
  for i, x in ipairs(window) do out[i] = x end
  local i = #out
  while i > 1 and out[i] > t do i = i - 1 end
  table.insert(out, i + 1, t)
  return out
end

-- Tumbling cap windows {w, hit times ascending...}: the N earliest hits of the newest window
-- score. Returns the new window and the time of a replaced hit, or nil when the hit does not score.
local function cap_hit(cap, te, n, window)
  local w = math.floor(te / window)
  -- A stored window whose first hit is not in it was counted with another window size (the
  -- model changed): start over rather than compare indices of different sizes.
  local stale = cap ~= nil and math.floor(cap[2] / window) ~= cap[1]
  if cap == nil or stale or w > cap[1] then return { w, te }, nil end
  if w < cap[1] then return nil, nil end
  if #cap - 1 < n then return insert_hit(cap, te), nil end
  local latest = cap[#cap]
  if te >= latest then return nil, nil end
  local kept = {}
  for i = 1, #cap - 1 do kept[i] = cap[i] end
  return insert_hit(kept, te), latest
end

local function newer(t, h, reg)
  return reg == nil or t > reg.t or (t == reg.t and h > reg.h)
end

-- Applies an effect in place. Returns outcome ('applied' | 'duplicate' | 'filtered'), the
-- transition table or nil, the number of capped hits and (when applied) the scores at now.
local function apply_effect(S, effect, now, M)
  if effect.filtered ~= nil then return 'filtered', nil, 0 end
  local bytes = hash_bytes(effect.hash)
  if ring_has(S.ring, bytes) then return 'duplicate', nil, 0 end
  local te = math.min(effect.eventTime, now)
  local ring = S.ring .. bytes
  S.ring = string.sub(ring, math.max(1, #ring - 4 * M.dedupe + 1))
  local capped = 0
  for _, id in ipairs(effect.hits) do
    local r = M.rule_by_id[id]
    local h = 0
    if r ~= nil and r.d > 0 then h = M.dims[r.d].h end
    if r ~= nil and h > 0 then
      local scores = true
      if r.cap ~= nil then
        local cap, replaced = cap_hit(S.caps[r.ix], te, r.cap.n, r.cap.w)
        if cap == nil then
          capped = capped + 1
          scores = false
        else
          S.caps[r.ix] = cap
          if replaced ~= nil then S.c[r.ix] = add_points(S.c[r.ix], -r.p, replaced, h) end
        end
      end
      if scores then S.c[r.ix] = add_points(S.c[r.ix], r.p, te, h) end
    end
  end
  for _, name in ipairs(effect.signals) do
    local prev = S.sig[name]
    if prev == nil or te > prev then S.sig[name] = te end
  end
  if effect.disqualify ~= nil and (S.dq == nil or te > S.dq) then S.dq = te end
  if effect.fit ~= nil and newer(te, effect.hash, S.fit) then
    local fit_rules = {}
    for _, id in ipairs(effect.fit) do
      local r = M.rule_by_id[id]
      if r ~= nil then fit_rules[#fit_rules + 1] = r.ix end
    end
    if #fit_rules > 0 then
      S.fit = { t = te, h = effect.hash, r = fit_rules }
    else
      S.fit = { t = te, h = effect.hash }
    end
  end
  if effect.sales ~= nil and newer(te, effect.hash, S.sales) then
    S.sales = { k = effect.sales.kind, t = te, h = effect.hash, b = effect.sales.bantPassed }
  end

  local scores = dimension_scores(S, now, M)
  local from = S.stage
  local to = next_stage(S, scores, now, M)
  if to == from then return 'applied', nil, capped, scores end
  S.stage = to
  S.seq = S.seq + 1
  return 'applied', {
    from = from,
    to = to,
    scores = score_record(scores, M),
    cause = event_cause(from, to, S, effect, scores, now, M),
    eventId = effect.eventId,
    eventTime = effect.eventTime,
    seq = S.seq,
  }, capped, scores
end

-- When condition c next changes truth by time alone (>= now), or nil.
local function flip_time(c, scores, S, now, M)
  if c.k == 'signal' then
    local seen = S.sig[c.s]
    if seen ~= nil and now - seen <= c.w then return seen + c.w end
    return nil
  end
  if c.k ~= 'score' or M.dims[c.d].h == 0 then return nil end
  local s, x = scores[c.d], c.gte
  local flips
  if s >= x then flips = s > 0 and x > 0 else flips = s < 0 and x < 0 end
  if flips then return now + M.dims[c.d].h * (math.log(s / x) / math.log(2)) end
  return nil
end

-- `scores` may be passed when the caller has just computed them for S at now.
local function next_change_at(S, now, M, scores)
  scores = scores or dimension_scores(S, now, M)
  if next_stage(S, scores, now, M) ~= S.stage then return now end
  if S.stage == DISQUALIFIED then return nil end
  local current = ladder_index(M, S.stage)
  local flips = {}
  for i = 2, #M.ladder do
    local stage = M.ladder[i]
    local conds = stage.stay
    if i > current then conds = stage.enter end
    for _, c in ipairs(conds) do
      local t = flip_time(c, scores, S, now, M)
      if t ~= nil then flips[#flips + 1] = t end
    end
  end
  table.sort(flips)
  -- Each dimension's score is one exponential, so the scores at `at` are the scores at now
  -- scaled per dimension: no need to re-sum every rule for each probe (the engine does; the
  -- two agree to the millisecond except at float ties, which the tests allow for).
  local at_scores = {}
  for _, t in ipairs(flips) do
    for at = math.max(now, math.floor(t) - 1), math.floor(t) + 2 do
      for d = 1, #M.dims do
        local h = M.dims[d].h
        if h > 0 then at_scores[d] = scores[d] * decay(at, now, h) else at_scores[d] = scores[d] end
      end
      if next_stage(S, at_scores, at, M) ~= S.stage then return at end
    end
  end
  return nil
end

local function crossed_at(c, scores, S, now, M)
  if c.k == 'signal' then
    local seen = S.sig[c.s]
    if seen == nil then return now end
    return math.min(now, math.floor(seen + c.w) + 1)
  end
  if c.k == 'score' and M.dims[c.d].h > 0 then
    local s = scores[c.d]
    if s > 0 and c.gte > 0 then
      return math.min(now, math.floor(now + M.dims[c.d].h * (math.log(s / c.gte) / math.log(2))) + 1)
    end
  end
  return now
end

local function time_cause(S, to, scores, now, M)
  if to == DISQUALIFIED or S.stage == DISQUALIFIED then
    return { kind = 'decay', detail = 're-evaluated: now ' .. to }, now
  end
  local conds, up = deciding_conditions(S.stage, to, scores, S, now, M)
  local detail = describe_conditions(conds, up, scores, S, M)
  if detail == '' then detail = 'now ' .. to end
  if up then return { kind = 'decay', detail = detail }, now end
  local at, kind = nil, 'decay'
  for _, c in ipairs(conds) do
    local t = crossed_at(c, scores, S, now, M)
    if at == nil or t < at then
      at = t
      if c.k == 'signal' then kind = 'signal-expired' else kind = 'decay' end
    end
  end
  if at == nil then at = now end
  return { kind = kind, detail = detail }, at
end

-- Re-evaluates at now with no event (in place). Returns the transition or nil.
local function advance_to(S, now, M)
  local scores = dimension_scores(S, now, M)
  local to = next_stage(S, scores, now, M)
  if to == S.stage then return nil end
  local cause, at = time_cause(S, to, scores, now, M)
  local from = S.stage
  S.stage = to
  S.seq = S.seq + 1
  return { from = from, to = to, scores = score_record(scores, M), cause = cause, eventTime = at, seq = S.seq }
end
