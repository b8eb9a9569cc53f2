-- wrk script of the benchmarks (bench/load.py, bench/status_page.py): random requests read
-- from a file.
--
--   wrk -s bench/requests.lua http://127.0.0.1:PORT -- REQUESTS_FILE
--
-- REQUESTS_FILE has one request per line: "<path>" or "<path>\t<Cookie header value>".
-- Answers 2xx and 3xx are fine; any other status is counted (by status). done() prints one
-- "BENCH key=value ..." line for the benchmark to parse (latencies in microseconds).

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  table.insert(threads, thread)
end

local prepared = {}
local by_status = {}
bad = 0
redirects = 0
statuses = ""

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, cookie = line:match("^([^\t]+)\t(.+)$")
    if path then
      prepared[#prepared + 1] = wrk.format("GET", path, { ["Cookie"] = cookie })
    elseif line ~= "" then
      prepared[#prepared + 1] = wrk.format("GET", line)
    end
  end
  file:close()
  assert(#prepared > 0, "no requests in " .. args[1])
  math.randomseed(os.time() * 100 + id)
end

function request()
  return prepared[math.random(#prepared)]
end

function response(status, headers, body)
  if status >= 300 and status < 400 then
    redirects = redirects + 1
  elseif status < 200 or status >= 400 then
    bad = bad + 1
    by_status[status] = (by_status[status] or 0) + 1
    local parts = {}
    for code, count in pairs(by_status) do
      parts[#parts + 1] = code .. ":" .. count
    end
    statuses = table.concat(parts, ",")
  end
end

function done(summary, latency, requests)
  local total_bad, total_redirects, codes = 0, 0, {}
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    total_redirects = total_redirects + thread:get("redirects")
    local text = thread:get("statuses")
    if text ~= "" then
      codes[#codes + 1] = text
    end
  end
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p95_us=%d p99_us=%d max_us=%d"
      .. " connect=%d read=%d write=%d timeout=%d bad=%d redirects=%d statuses=%s\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.timeout, total_bad, total_redirects,
    #codes > 0 and table.concat(codes, ",") or "-"
  ))
end
