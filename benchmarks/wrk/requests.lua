-- wrk script (benchmarks/wrk.py). WRK_MODE=start (default): durable starts, each with a business key of its own;
-- WRK_MODE=get: GET of the URL's path with the API key (the breakdown of a start's time).
-- WRK_TOKEN: the API key; WRK_NONCE: a word that makes this run's keys differ from earlier runs';
-- WRK_DEFINITION, WRK_ASSIGNEE: the duty started and the agency that owes it (default: the shipped
-- catalogue_feedback, owed by SYT: the instance, its obligation and three timers per start).
local token = os.getenv("WRK_TOKEN") or ""
local nonce = os.getenv("WRK_NONCE") or "0"
local mode = os.getenv("WRK_MODE") or "start"
local definition = os.getenv("WRK_DEFINITION") or "catalogue_feedback"
local assignee = os.getenv("WRK_ASSIGNEE") or "SYT"
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
  local body = string.format('{"definition":"%s","business_key":"wrk/%s/%d/%d","assignee":"%s"}',
                             definition, nonce, tid, counter, assignee)
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
