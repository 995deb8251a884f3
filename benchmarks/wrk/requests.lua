-- wrk script (benchmarks/wrk.py). WRK_MODE=start (default): durable starts, each with a business key of its own;
-- WRK_MODE=get: GET of the URL's path with the API key (the breakdown of a start's time).
-- WRK_TOKEN: the API key; WRK_NONCE: a word that makes this run's keys differ from earlier runs'.
local token = os.getenv("WRK_TOKEN") or ""
local nonce = os.getenv("WRK_NONCE") or "0"
local mode = os.getenv("WRK_MODE") or "start"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local counter = 0
request = function()
  if mode == "get" then
    return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
  end
  counter = counter + 1
  local body = string.format('{"definition":"bench_http","business_key":"wrk/%s/%d/%d","assignee":"SKHCN"}',
                             nonce, tid, counter)
  return wrk.format("POST", "/api/v1/instances",
                    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
