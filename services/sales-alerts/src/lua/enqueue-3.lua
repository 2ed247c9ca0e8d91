-- Records a delivery job for one subscriber, once per event id.
-- KEYS[1] the event's dedupe mark   KEYS[2] jobs hash   KEYS[3] due sorted set
-- ARGV[1] event id   ARGV[2] job (JSON)   ARGV[3] now (ms)   ARGV[4] dedupe TTL (ms)
-- ARGV[5] '1' when the message is a dead-letter replay (`npm run dlq -- replay`)
-- Returns 1 when queued, 0 when the event was already queued, delivered or dead-lettered.
-- The mark is 'q' from queueing on and 'd' once dead-lettered: a replay of a dead letter is
-- queued again, a plain redelivery of the same event never is.
local mark = redis.call('GET', KEYS[1])
if mark and not (mark == 'd' and ARGV[5] == '1') then
  return 0
end
redis.call('SET', KEYS[1], 'q', 'PX', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
