-- bench/wrk.lua -- replay pre-generated requests (bench/gen_requests.c)
-- and print one machine-readable result line.
--
--   wrk -t T -c C -d S --latency -s bench/wrk.lua URL -- PREFIX [STOP_AFTER T]
--
-- Thread i loads PREFIX.i (records "<length>\n<raw HTTP request>") and
-- cycles through it; "wrapped" counts passes beyond the first, i.e.
-- requests sent twice (for the database lines they must stay 0, or the
-- repeats would be duplicates rather than inserts).  With STOP_AFTER,
-- each thread stops after that many responses (count-bounded runs for the
-- RSS, strace and callgrind checks); wrk's -d still bounds the time.
-- wrk's main thread sleeps for the whole -d even when every thread has
-- stopped, so the last thread to stop sends wrk the SIGINT that ends a
-- run early (the shell's $PPID is wrk); marker files PREFIX.stopped.i
-- tell it that the others are done.  THREADS is the third argument.

local threads = {}
local nthreads = 0

function setup(thread)
   thread:set("id", nthreads)
   nthreads = nthreads + 1
   table.insert(threads, thread)
end

reqs = {}
n = 0
i = 0
sent = 0
wrapped = 0
got = 0
non2xx = 0

function init(args)
   local f = assert(io.open(args[1] .. "." .. id, "rb"))
   while true do
      local len = f:read("*l")
      if len == nil then break end
      n = n + 1
      reqs[n] = f:read(tonumber(len))
   end
   f:close()
   assert(n > 0, "no requests in " .. args[1] .. "." .. id)
   if args[2] ~= nil then
      local stop_after = tonumber(args[2])
      local nthr = tonumber(args[3] or "1")
      local prefix = args[1]
      response = function(status, headers, body)
         got = got + 1
         if status < 200 or status > 299 then non2xx = non2xx + 1 end
         if got == stop_after then
            local m = assert(io.open(prefix .. ".stopped." .. id, "w"))
            m:close()
            local all = true
            for t = 0, nthr - 1 do
               local f = io.open(prefix .. ".stopped." .. t, "r")
               if f == nil then all = false else f:close() end
            end
            -- Delayed: system() ignores SIGINT in wrk until sh returns.
            if all then os.execute("(sleep 0.2; kill -INT $PPID) &") end
            wrk.thread:stop()
         end
      end
   end
end

function request()
   i = i + 1
   if i > n then
      i = 1
      wrapped = wrapped + 1
   end
   sent = sent + 1
   return reqs[i]
end

function done(summary, latency, requests)
   local s, w = 0, 0
   for _, t in ipairs(threads) do
      s = s + (t:get("sent") or 0)
      w = w + math.max(0, (t:get("sent") or 0) - (t:get("n") or 0))
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d " ..
      "p99_us=%d max_us=%d connect=%d read=%d write=%d status=%d " ..
      "timeout=%d sent=%d repeated=%d\n",
      summary.requests, summary.duration,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.connect, e.read, e.write,
      e.status, e.timeout, s, w))
end
