-- The part the wrk scripts in bench/ share (post.lua, post2.lua,
-- post_unique.lua, get_ids.lua): counts the answers per status in every
-- thread and prints, from done(), the one line "WRKJSON {...}" with the
-- counts, the errors and the latency percentiles (microseconds) that
-- bench/bench.py reads.  A script loads it from its own directory (wrk
-- may run from anywhere) with
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "")
--          .. "wrk_report.lua")
-- and hands each thread to report_thread() from its setup().  wrk loads
-- the script in every thread's Lua state and in the main one (setup()
-- and done() run there), so each gets these functions and its own
-- statuses table.

local threads = {}

statuses = {}

function report_thread(thread)
   table.insert(threads, thread)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      if s then
         for k, v in pairs(s) do
            counts[k] = (counts[k] or 0) + v
         end
      end
   end

   local parts = {}
   for k, v in pairs(counts) do
      table.insert(parts, string.format('"%d":%d', k, v))
   end

   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"status":{%s},"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"mean_us":%.1f}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      table.concat(parts, ","),
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean))
end
