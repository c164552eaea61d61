-- wrk script: booking requests, POST /api/v1/reservations, the mix of `reserver bench http`:
-- most book a random 1-hour slot (on the half hour) in the 60 days after DAY0 on a random
-- resource; CONTENDED of them (0 to 1) aim at one of three shared slots, groups of 16 requests
-- in a row of one thread aiming at the same slot of the same resource, so that requests for one
-- slot are in flight together on that thread's connections.
--
--   wrk -t2 -c20 -d8s --latency -s loadgen/wrk/book.lua http://127.0.0.1:8080 -- \
--       TOKEN1,TOKEN2,... ID1,ID2,... DAY0 CONTENDED
--
-- TOKENs: bearer tokens (a random one per request); IDs: resource ids; DAY0: the first day, as
-- seconds since 1970 at 00:00 UTC; CONTENDED: default 0.2. At the end it prints how many
-- answers were 201, 409 and anything else, and the highest X-Log-Position seen, so that the
-- read model can be checked for overlaps after that position. `reserver bench http
-- --wrk-script loadgen/wrk/book.lua` seeds a service, runs this and does that check.

local tokens, ids, day0, contended
local n = 0
-- Globals, not locals: done() reads each thread's with thread:get.
created, conflicts, other, position = 0, 0, 0, 0
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local function split(text)
  local out = {}
  for item in string.gmatch(text or "", "[^,]+") do
    out[#out + 1] = item
  end
  return out
end

function init(args)
  tokens = split(args[1])
  ids = split(args[2])
  day0 = tonumber(args[3] or "0")
  contended = tonumber(args[4] or "0.2")
  -- A different sequence per thread.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

local function instant(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

function request()
  n = n + 1
  local id, start
  if math.random() < contended then
    local group = math.floor(n / 16)
    id = ids[group % #ids + 1]
    start = day0 + 3600 * (8 + group % 3)
  else
    id = ids[math.random(#ids)]
    start = day0 + 1800 * math.random(0, 2 * 24 * 60 - 1)
  end
  local body = '{"resource_id":"' .. id .. '","start_time":"' .. instant(start) .. '","end_time":"'
      .. instant(start + 3600) .. '"}'
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/reservations", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    other = other + 1
  end
  local p = tonumber(headers["x-log-position"] or headers["X-Log-Position"] or "0") or 0
  if p > position then
    position = p
  end
end

function done(summary, latency, requests)
  local c, k, o, p = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    k = k + thread:get("conflicts")
    o = o + thread:get("other")
    p = math.max(p, thread:get("position"))
  end
  io.write(string.format("201: %d, 409: %d, other: %d, socket errors: %d\n", c, k, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("highest X-Log-Position: %d\n", p))
end
