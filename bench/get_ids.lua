-- wrk script for bench/bench.py's read case: GETs BASE .. <id>, the ids
-- one a line in IDS_FILE, each thread from a place of its own in the
-- list, and counts the answers per status as bench/post.lua does.
--   wrk -t2 -c200 -d10s -s bench/get_ids.lua URL -- IDS_FILE BASE
-- URL gives the host and port; BASE the path before the id.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("first", counter * 7919)
   table.insert(threads, thread)
end

function init(args)
   ids = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         table.insert(ids, line)
      end
   end
   base = args[2]
   n = first % #ids
   statuses = {}
end

function request()
   n = n % #ids + 1
   return wrk.format("GET", base .. ids[n])
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
