package redisengine

import "github.com/redis/go-redis/v9"

// The scripts read the clock with TIME, so expiry follows the Redis server's
// clock and nodes with skewed clocks agree. Times are Unix milliseconds.
// Numbers are formatted with %d: Lua's default formatting of large numbers
// would use an exponent.

// publishScript saves a publication to history and publishes it, atomically.
//
// KEYS[1] stream, KEYS[2] meta, KEYS[3] idempotent result key (a key of the
// channel even when unused, so cluster routing sees a single slot).
// ARGV[1] header, ARGV[2] pub, ARGV[3] history size (0: no history), ARGV[4]
// history TTL ms, ARGV[5] meta TTL ms, ARGV[6] epoch for a new stream,
// ARGV[7] PUB/SUB channel, ARGV[8] publish command (PUBLISH or SPUBLISH),
// ARGV[9] result TTL ms (0: no idempotency key).
//
// Returns {1, "<offset> <epoch>"} for a suppressed repeat and {0, "<offset>
// <epoch>"} otherwise.
//
// A missing meta means a new stream: a stream left behind (possible when the
// meta TTL is shorter than the history TTL) is deleted, as its offsets belong
// to a lost epoch. Each entry keeps its expiry (x) next to the publication
// (d); the stream key lives as long as its longest-lived entry, the meta for
// the meta TTL after the last publication.
var publishScript = redis.NewScript(`
local resultTTL = tonumber(ARGV[9])
if resultTTL > 0 then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    return {1, prev}
  end
end
local offset, epoch = 0, ''
local size = tonumber(ARGV[3])
if size > 0 then
  local ttl = tonumber(ARGV[4])
  epoch = redis.call('HGET', KEYS[2], 'e')
  if not epoch then
    epoch = ARGV[6]
    redis.call('DEL', KEYS[1], KEYS[2])
    redis.call('HSET', KEYS[2], 'e', epoch)
  end
  offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('XADD', KEYS[1], 'MAXLEN', size, string.format('%d-0', offset),
    'd', ARGV[2], 'x', string.format('%d', now + ttl))
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
local pos = string.format('%d', offset) .. ' ' .. epoch
redis.call(ARGV[8], ARGV[7], 'p' .. pos .. ' ' .. ARGV[1] .. ARGV[2])
if resultTTL > 0 then
  redis.call('SET', KEYS[3], pos, 'PX', resultTTL)
end
return {0, pos}
`)

// historyScript reads a stream's position and publications.
//
// KEYS[1] stream, KEYS[2] meta.
// ARGV[1] meta TTL ms for a new stream, ARGV[2] epoch for a new stream,
// ARGV[3] the epoch the caller expects ("": any), ARGV[4] limit (0: none,
// -1: all), ARGV[5] "1" for newest first, ARGV[6] the range's low bound,
// ARGV[7] its high bound (stream IDs as XRANGE takes them).
//
// Returns {offset, epoch, {id, pub, id, pub, ...}}, skipping expired entries.
// A missing meta is created (with a new epoch and offset 0) so the position
// returned stays valid for later publications; an existing one is not
// extended.
var historyScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[2], 'o', 'e')
local offset, epoch = tonumber(m[1]) or 0, m[2]
if not epoch then
  offset, epoch = 0, ARGV[2]
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[2], 'e', epoch)
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
local limit = tonumber(ARGV[4])
local found = {}
if limit == 0 or (ARGV[3] ~= '' and ARGV[3] ~= epoch) then
  return {offset, epoch, found}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reverse = ARGV[5] == '1'
local lo, hi = ARGV[6], ARGV[7]
local n = 0
while true do
  local want = 1000
  if limit > 0 and limit - n < want then
    want = limit - n
  end
  local entries
  if reverse then
    entries = redis.call('XREVRANGE', KEYS[1], hi, lo, 'COUNT', want)
  else
    entries = redis.call('XRANGE', KEYS[1], lo, hi, 'COUNT', want)
  end
  for _, e in ipairs(entries) do
    local f = e[2]
    local data, expire
    for i = 1, #f, 2 do
      if f[i] == 'd' then
        data = f[i + 1]
      elseif f[i] == 'x' then
        expire = tonumber(f[i + 1])
      end
    end
    if data and expire and expire > now then
      found[#found + 1] = e[1]
      found[#found + 1] = data
      n = n + 1
    end
  end
  if #entries < want or (limit > 0 and n >= limit) then
    break
  end
  if reverse then
    hi = '(' .. entries[#entries][1]
  else
    lo = '(' .. entries[#entries][1]
  end
end
return {offset, epoch, found}
`)

// presenceCleanup is the common start of the presence scripts: it drops the
// entries of KEYS[1] (hash) whose expiry in KEYS[2] (zset) has passed.
const presenceCleanup = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #expired > 0 then
  for i = 1, #expired, 1000 do
    redis.call('HDEL', KEYS[1], unpack(expired, i, math.min(i + 999, #expired)))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
`

// addPresenceScript adds or replaces an entry.
//
// KEYS[1] presence hash, KEYS[2] expiry zset; ARGV[1] client id, ARGV[2]
// info JSON, ARGV[3] expiry ms. Both keys expire with their longest-lived
// entry.
var addPresenceScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], string.format('%d', now + tonumber(ARGV[3])), ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
return 0
`)

// presenceScript returns the live entries as {client id, info, ...}.
var presenceScript = redis.NewScript(presenceCleanup + `
return redis.call('HGETALL', KEYS[1])
`)

// presenceStatsScript returns {clients, distinct users} of the live entries.
var presenceStatsScript = redis.NewScript(presenceCleanup + `
local infos = redis.call('HVALS', KEYS[1])
local users, n = {}, 0
for _, v in ipairs(infos) do
  local user = cjson.decode(v)['user'] or ''
  if not users[user] then
    users[user] = true
    n = n + 1
  end
end
return {#infos, n}
`)

// removePresenceScript removes an entry: KEYS as above, ARGV[1] client id.
var removePresenceScript = redis.NewScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
`)
