--[[
  register-names: gives each new name the next free position in the registry, keeps existing
  ones, and returns the whole registry. Stored records name rules, stages and signals by these
  small numbers instead of their text; a position is assigned once, for good.

  KEYS[1]   the registry hash: name -> position ('r:<rule id>', 's:<stage>', 'g:<signal>')
  ARGV      the names this model uses

  Returns HGETALL of the registry: { name1, position1, name2, position2, ... }.
]]
local n = redis.call('HLEN', KEYS[1])
for _, name in ipairs(ARGV) do
  if redis.call('HSETNX', KEYS[1], name, n + 1) == 1 then n = n + 1 end
end
return redis.call('HGETALL', KEYS[1])
