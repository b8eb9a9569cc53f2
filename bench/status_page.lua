-- wrk script of bench/status_page.py: random case status pages, each requested with the
-- session that may open it.
--
--   wrk -s bench/status_page.lua http://127.0.0.1:PORT -- PAIRS_FILE
--
-- PAIRS_FILE has one "<session key> <case reference>" pair per line. Every response that is
-- not a 200 is counted (by status); done() prints one "BENCH key=value ..." line for the
-- benchmark to parse (latencies in microseconds).

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  table.insert(threads, thread)
end

local prepared = {}
local by_status = {}
non200 = 0
statuses = ""

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local key, reference = line:match("^(%S+)%s+(%S+)$")
    if key then
      local path = "/es/cases/" .. reference .. "/"
      prepared[#prepared + 1] = wrk.format("GET", path, { ["Cookie"] = "sessionid=" .. key })
    end
  end
  file:close()
  assert(#prepared > 0, "no session/reference pairs in " .. args[1])
  math.randomseed(os.time() * 100 + id)
end

function request()
  return prepared[math.random(#prepared)]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    by_status[status] = (by_status[status] or 0) + 1
    local parts = {}
    for code, count in pairs(by_status) do
      parts[#parts + 1] = code .. ":" .. count
    end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local bad, codes = 0, {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non200")
    local text = thread:get("statuses")
    if text ~= "" then
      codes[#codes + 1] = text
    end
  end
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d mean_us=%.0f"
      .. " connect=%d read=%d write=%d timeout=%d non200=%d statuses=%s\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean, errors.connect, errors.read, errors.write, errors.timeout, bad,
    #codes > 0 and table.concat(codes, ",") or "-"
  ))
end
