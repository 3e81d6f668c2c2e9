-- wrk script for bench/run.sh's two-database case: as post.lua, the
-- requests alternating between the paths given after the body file.
--   wrk -t2 -c200 -d10s -s bench/post2.lua URL -- BODY_FILE /a,/b
-- done() prints the same "WRKJSON {...}" line as post.lua.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   wrk.headers["Content-Type"] = "application/json"
   f:close()
   statuses = {}
   paths = {}
   for p in string.gmatch(args[2], "[^,]+") do
      table.insert(paths, p)
   end
   n = 0
end

function request()
   n = n % #paths + 1
   return wrk.format(nil, paths[n])
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
