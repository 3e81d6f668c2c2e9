-- wrk script for bench/run.sh's two-database case: post.lua (loaded from
-- this script's directory), the requests alternating between the paths
-- given after the body file.
--   wrk -t2 -c200 -d10s -s bench/post2.lua URL -- BODY_FILE /a,/b
-- done() prints the same "WRKJSON {...}" line as post.lua
-- (bench/wrk_report.lua).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "post.lua")

local post_init = init

function init(args)
   post_init({args[1]})
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
