-- wrk script: GET requests with the API key (benchmarks/wrk.py, the breakdown of a start's time).
local token = os.getenv("WRK_TOKEN") or ""

request = function()
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
