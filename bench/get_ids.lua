-- wrk script for bench/bench.py's read case: GETs BASE .. <id>, the ids
-- one a line in IDS_FILE, each thread from a place of its own in the
-- list, and counts the answers per status as bench/post.lua does
-- (bench/wrk_report.lua).
--   wrk -t2 -c200 -d10s -s bench/get_ids.lua URL -- IDS_FILE BASE
-- URL gives the host and port; BASE the path before the id.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "")
       .. "wrk_report.lua")

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("first", counter * 7919)
   report_thread(thread)
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
end

function request()
   n = n % #ids + 1
   return wrk.format("GET", base .. ids[n])
end
