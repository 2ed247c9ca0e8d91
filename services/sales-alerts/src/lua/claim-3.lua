-- Claims the jobs that are due, counting an attempt for each before it is made.
-- KEYS[1] due sorted set   KEYS[2] jobs hash   KEYS[3] attempts hash
-- ARGV[1] now (ms)   ARGV[2] lease (ms)   ARGV[3] most jobs to claim
-- Returns { queue depth, id_1, job_1, attempts_1, id_2, ... }.
-- A claimed job's due time moves to now + lease: if the claimer dies mid-attempt, the job is due
-- again after the lease, and the attempt it was making still counts, so the cap holds whatever
-- crashes. A delivered or dead-lettered job is removed before its lease ends.
local out = { redis.call('ZCARD', KEYS[1]) }
local limit = tonumber(ARGV[3])
if limit < 1 then
  return out
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
local leased = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(ids) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZADD', KEYS[1], leased, id)
    out[#out + 1] = id
    out[#out + 1] = job
    out[#out + 1] = redis.call('HINCRBY', KEYS[3], id, 1)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
