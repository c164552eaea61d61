-- wrk script: uncached free-slot questions, each one new (random resource, random day, random
-- slot length), against GET /api/v1/resources/{id}/available-slots.
--
--   wrk -t2 -c20 -d10s --latency -s loadgen/wrk/slots.lua http://127.0.0.1:8080 -- TOKEN ID1,ID2,... DAYS
--
-- TOKEN: a bearer token; IDs: resource ids, comma-separated; DAYS: how many days from tomorrow
-- the random day is drawn from (default 60). `reserver bench availability --wrk-script
-- loadgen/wrk/slots.lua` seeds a service and runs this with the right arguments.

local token, ids, days
local durations = { 15, 30, 45, 60, 90, 120 }

function init(args)
  token = args[1]
  ids = {}
  for id in string.gmatch(args[2] or "", "[^,]+") do
    ids[#ids + 1] = id
  end
  days = tonumber(args[3] or "60")
  -- A different sequence per thread.
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

function request()
  local id = ids[math.random(#ids)]
  local date = os.date("!%Y-%m-%d", os.time() + 86400 * math.random(days))
  local minutes = durations[math.random(#durations)]
  local path = "/api/v1/resources/" .. id .. "/available-slots?date=" .. date .. "&duration_minutes=" .. minutes
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx answers: %d\n", summary.errors.status))
end
