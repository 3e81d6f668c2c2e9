-- wrk script for bench/run.sh's two-database case: as post.lua, the
-- requests alternating between the paths given after the body file.
--   wrk -t2 -c200 -d10s -s bench/post2.lua URL -- BODY_FILE /a,/b
-- done() prints the same "WRKJSON {...}" line as post.lua
-- (bench/wrk_report.lua).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "")
       .. "wrk_report.lua")

function setup(thread)
   report_thread(thread)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   wrk.headers["Content-Type"] = "application/json"
   f:close()
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
