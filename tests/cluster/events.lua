-- tests/cluster/events.lua: wrk posts pre-signed events (from
-- sign_events.pl), each at most once, for wrk's duration.
--   wrk -t T -c C -d SECONDS -s events.lua URL -- FILE T
-- Thread i sends lines i, i+T, i+2T, ...; should a thread run out, it asks
-- nginx for "/" (a 404 nginx answers itself, no worker involved), which is
-- not counted.  done() prints one line:
--   events ANSWERED acked N other N seconds S per_s R p50_ms L p99_ms L
-- where acked counts 202s and per_s is acked / seconds.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  reqs, pos, ok, other = {}, 0, 0, 0
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local ts, sig, body = line:match("^(%d+)\t(%S+)\t(.*)$")
      table.insert(reqs, wrk.format("POST", "/zoom_events/events", {
        ["Content-Type"] = "application/json",
        ["x-zm-request-timestamp"] = ts,
        ["x-zm-signature"] = sig,
      }, body))
    end
    i = i + 1
  end
  filler = wrk.format("GET", "/")
end

function request()
  pos = pos + 1
  if pos <= #reqs then
    return reqs[pos]
  end
  return filler
end

function response(status, headers, body)
  if status == 202 then
    ok = ok + 1
  elseif status ~= 404 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local sent, acked, oth = 0, 0, 0
  for _, t in ipairs(threads) do
    acked = acked + t:get("ok")
    oth = oth + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("events %d acked %d other %d seconds %.2f per_s %.1f p50_ms %.1f p99_ms %.1f\n",
    acked + oth, acked, oth, secs, acked / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
