-- wrk script for bench/run.sh: POSTs one body file (application/json
-- unless CONTENT_TYPE is given) and counts the answers per status in
-- every thread.
--   wrk -t2 -c200 -d10s -s bench/post.lua URL -- BODY_FILE [CONTENT_TYPE]
-- done() (bench/wrk_report.lua) prints one line "WRKJSON {...}" with the
-- counts, the errors and the latency percentiles (microseconds) for
-- bench/bench.py.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "")
       .. "wrk_report.lua")

function setup(thread)
   report_thread(thread)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   wrk.headers["Content-Type"] = args[2] or "application/json"
   f:close()
end
