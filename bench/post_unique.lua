-- wrk script for bench/run.sh's FHIR cases: as post.lua, but every request
-- carries UUIDs of its own in place of the UUID in the body file (each
-- place it is, say each entry of a Bundle, gets its own), so that each is
-- a new resource and not a retry of the first (a FHIR
-- QuestionnaireResponse's identifier is its idempotency key).
--   wrk -t2 -c200 -d10s -s bench/post_unique.lua URL -- BODY_FILE \
--       UUID_IN_BODY NONCE CONTENT_TYPE
-- NONCE (8 hex digits, new per wrk run) keeps runs apart, the thread's
-- number, the place (K, 0 to 4095) and a counter keep them apart:
-- NONCE-TTTT-7KKK-8000-CCCCCCCCCCCC.
-- The replacement has the same length, so Content-Length does not move.
-- done() prints the same "WRKJSON {...}" line as post.lua
-- (bench/wrk_report.lua).

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "")
       .. "wrk_report.lua")

local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
   report_thread(thread)
end

function init(args)
   local f = assert(io.open(args[1], "rb"))
   local body = f:read("*a")
   f:close()
   parts = {}
   local from = 1
   while true do
      local at = string.find(body, args[2], from, true)
      if not at then
         break
      end
      table.insert(parts, string.sub(body, from, at - 1))
      from = at + #args[2]
   end
   assert(#parts > 0 and #parts <= 4096,
          "the body does not contain " .. args[2])
   table.insert(parts, string.sub(body, from))
   nonce = args[3]
   assert(#nonce == 8, "NONCE: 8 hex digits")
   wrk.method = "POST"
   wrk.headers["Content-Type"] = args[4] or "application/json"
   n = 0
end

function request()
   n = n + 1
   local out = {parts[1]}
   for k = 2, #parts do
      out[#out + 1] = string.format("%s-%04x-7%03x-8000-%012x", nonce, tid,
                                    k - 2, n)
      out[#out + 1] = parts[k]
   end
   return wrk.format(nil, nil, nil, table.concat(out))
end
