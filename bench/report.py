"""Markdown report for bench/bench.py.

A full run writes bench/results/full-<stamp>.json and bench/RESULTS.md (the
run in full, plus a side-by-side table of every full run kept in
bench/results/); a smoke run writes bench/results/smoke.json and
bench/results/smoke.md only.  bench/NOTES.md, if present, is appended to
RESULTS.md (the hand-written reading of the figures).
"""

import glob
import json
import os
import statistics
import time

MIB = 1024.0

CALLS = ("malloc", "calloc", "realloc", "free", "memalign")


def ms(v):
    return "-" if v is None else ("%.1f" % (v * 1e3) if v < 10 else
                                  "%.0f" % (v * 1e3))


def num(v, fmt="%.0f"):
    return "-" if v is None else fmt % v


def mib(kib):
    return "-" if not kib else "%.1f" % (kib / MIB)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i == 0 else "--:"
                          for i in range(len(head))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def find(res, **kw):
    for c in res["cases"]:
        if all(c.get(k) == v for k, v in kw.items()):
            return c
    return None


def pgb(res, name, clients=None):
    for p in res["pgbench"]:
        if p["name"] == name and (clients is None or p["clients"] == clients):
            return p
    return None


def variant_note(target):
    """What a variant adds to the nginx.conf of the report."""
    if target.startswith("module pool="):
        return (" (nginx.conf below plus `epro_pg_pool_size %s;` in http)"
                % target.split("=")[1])
    if target == "module unnamed":
        return " (nginx.conf below plus `epro_pg_statement unnamed;`)"
    if target.startswith("module two databases"):
        return (" (nginx.conf below plus `epro_database one` on database "
                "epro and `epro_database two` on epro2, same cluster%s; "
                "/submit-1 and /submit-2 with `epro_pass one` and `two`, "
                "wrk alternating between them: half the load each)"
                % (", `pool_size=2` each: the single database's 8 "
                   "connections" if target.endswith("pool=2") else
                   ", pool 4 each: 16 connections"))
    if target == "module bind+columns":
        return (" (nginx.conf below plus `epro_column auth_user "
                "$http_x_subject; epro_column device_id $http_x_device_id; "
                "epro_bind subjectId $http_x_subject;` in http; wrk sends "
                "X-Subject and X-Device-Id)")
    if target == "module pgbouncer":
        return (" (nginx.conf below plus `epro_pg_statement unnamed;`, "
                "epro_pg_conninfo on PgBouncer's port)")
    return ""


def targets(res):
    """[(what, target, measured, verdict)]"""
    out = []
    clients = min((p["clients"] for p in res["pgbench"]), default=None)
    base = pgb(res, "100 rows/txn", clients)
    base_rows = base["rows_s"] if base else None
    for body, share in (("single", 0.6), ("array100", 0.8)):
        c = find(res, tool="wrk", target="module", body=body, conc=200)
        if c and base_rows:
            ratio = c["rows_s"] / base_rows
            out.append((
                "%s, wrk c=200: rows/s vs %d%% of pgbench 100 rows/txn "
                "(%.0f rows/s, c=%d)" % (
                    "single submissions" if body == "single" else
                    "arrays of 100", share * 100, base_rows, clients),
                ">= %.0f rows/s (ratio >= %.2f)" % (share * base_rows, share),
                "%.0f rows/s (ratio %.2f)" % (c["rows_s"], ratio),
                "PASS" if ratio >= share else "FAIL"))
    worst = None
    for c in res["cases"]:
        if c["target"].startswith("module") and c["conc"] == 200 \
                and c.get("p99") is not None:
            if worst is None or c["p99"] > worst["p99"]:
                worst = c
    for c in res["cases"]:
        if c["target"].startswith("module") and c["conc"] == 200 \
                and c.get("p99") is not None:
            out.append(("p99 at c=200: %s %s %s" % (c["tool"], c["target"],
                                                    c["body"]),
                        "< 50 ms", "%s ms" % ms(c["p99"]),
                        "PASS" if c["p99"] < 0.050 else "FAIL"))
    for h in res["heap"]:
        if h.get("fhir"):
            continue
        m, o = h["module"]["delta"], h["return 201"]["delta"]
        n = h["n"]
        dm = sum(m[k] for k in CALLS) / n
        do = sum(o[k] for k in CALLS) / n
        nb = h["module"].get("batches")
        if nb is None:
            out.append(("heap calls per request, %s (module minus return "
                        "201)" % h["body"], "0 (README: no per-request "
                        "malloc)", "%.2f (%.2f - %.2f)" % (dm - do, dm, do),
                        "PASS" if dm - do < 0.5 else "FAIL"))
            continue
        # libpq's result is once per batch, not per request (bench.py;
        # runs before the duplicates-only result allowed 8 per batch)
        lb = h.get("libpq_per_batch", 8)
        left = h.get("module_per_request", dm - do - lb * nb / n)
        out.append(("heap calls per request, %s (module minus return 201,"
                    " less libpq's %d per batch)" % (h["body"], lb),
                    "0 (README: no per-request malloc)",
                    "%.2f (%.2f - %.2f - %d x %d batches / %d)"
                    % (max(0.0, left), dm, do, lb, nb, n),
                    "PASS" if left < 0.5 else
                    "FAIL (nginx's body buffer, request pool blocks: see "
                    "notes)" if h["body"] != "single" else "FAIL"))
    out += fhir_targets(res)
    out += studies_targets(res)
    out += bundle_targets(res)
    for c in res["cases"]:
        if c["target"].startswith("module") and c["conc"] == 1000:
            out.append(("worker PSS at c=1000: %s %s %s" % (
                c["tool"], c["target"], c["body"]), "< 16 MiB each",
                "%s MiB (peak of one worker)" % mib(c["pss_peak_kib"]),
                "PASS" if c["pss_peak_kib"] < 16 * 1024 else "FAIL"))
    return out


FHIR = "module fhir"


def heap_per_request(h, t):
    """All heap calls per request of one location of a heap row (the FHIR
    row has an N per location: wrk runs for a time)."""
    n = h[t].get("n", h["n"])
    return sum(h[t]["delta"][k] for k in CALLS) / n if n else None


def fhir_heap(res):
    """(the FHIR row, native single's row) of the heap counts, or Nones."""
    f = [h for h in res["heap"] if h.get("fhir") and not h.get("http_extra")]
    s = [h for h in res["heap"] if h["body"] == "single"]
    return (f[0] if f else None), (s[0] if s else None)


def fhir_pairs(res):
    """[(conc, module fhir case, native case, return 201 FHIR body case)]
    of wrk, per concurrency the run has.  The native case is single-id
    (a client submissionId per request, as the FHIR body's identifier,
    by the same bench/post_unique.lua), or single in runs before it."""
    out = []
    for conc in sorted({c["conc"] for c in res["cases"]
                        if c["target"] == FHIR}):
        out.append((conc,
                    find(res, tool="wrk", target=FHIR, conc=conc),
                    find(res, tool="wrk", target="module", body="single-id",
                         conc=conc)
                    or find(res, tool="wrk", target="module", body="single",
                            conc=conc),
                    find(res, tool="wrk", target="return 201",
                         body="fhir-phq9", conc=conc)))
    return out


def paired(res, a, b, key="rows_s"):
    """(median, [per round]) of b's key over a's in the alternating rounds
    (bench.py PAIRS; a, b: (target, body)), or None: a run without them."""
    rounds = {}
    for c in res.get("paired", []):
        rounds.setdefault(c["round"], {})[(c["target"], c["body"])] = c
    rs = []
    for r in sorted(rounds):
        ca, cb = rounds[r].get(a), rounds[r].get(b)
        if ca and cb and ca.get(key) and cb.get(key):
            rs.append(cb[key] / ca[key])
    return (statistics.median(rs), rs) if rs else None


def paired_section(res):
    """The alternating rounds behind the ratio targets, case by case."""
    P = res.get("paired", [])
    if not P:
        return []
    names, rounds = [], sorted({c["round"] for c in P})
    for c in P:
        if (c["target"], c["body"]) not in names:
            names.append((c["target"], c["body"]))
    rows = []
    for t, b in names:
        cells = []
        for r in rounds:
            c = [x for x in P if x["round"] == r and x["target"] == t
                 and x["body"] == b]
            cells.append("%.0f / %s" % (c[0]["rows_s"], ms(c[0].get("p99")))
                         if c else "-")
        rows.append(["wrk c=200 %s %s" % (t, b)] + cells)
    L = ["## Ratio targets in alternating rounds\n",
         "A case measured once moved by up to a third between idle runs, "
         "so the cases of the ratio targets run again, wrk c=200, %d s "
         "each, in %d rounds, each round in the reverse order of the one "
         "before (bench.py PAIRS); the targets above take the median of "
         "the rounds' ratios. rows/s / p99 ms per round:\n"
         % (res.get("wrk_seconds", 10), len(rounds)),
         table(["case"] + ["round %d" % (r + 1) for r in rounds], rows),
         ""]
    return L


def ratio_row(res, what, a, b, single, target, key="rows_s", below=False):
    """A target row for b / a: the median of the alternating rounds where
    the run has them (the single-shot ratio beside it), else the single
    shot. below: the target is a ceiling."""
    p = paired(res, a, b, key)
    r = p[0] if p else single
    ok = r <= target if below else r >= target
    if p:
        got = "%.2fx median of %d alternating rounds (%s); the cases " \
              "above once: %.2fx" % (r, len(p[1]), ", ".join(
                  "%.2f" % x for x in p[1]), single)
    else:
        got = "%.2fx" % r
    return (what, "%s %.2fx" % ("<=" if below else ">=", target), got,
            "PASS" if ok else "FAIL")


def studies_targets(res):
    """Issue 13's: two databases (two tables, half the load each) >= 0.9
    of the single database's rows/s, and epro_bind with two epro_columns
    costing <= 5%, both at wrk c=200 in the same run."""
    out = []
    s = find(res, tool="wrk", target="module", body="single", conc=200)
    if not s or not s["rows_s"]:
        return out
    for target, what, floor in (
            ("module two databases", "two databases, half the load each, "
             "wrk c=200: rows/s vs one database's", 0.90),
            ("module two databases pool=2", "the same with pool_size=2 "
             "each (the single database's 8 connections)", 0.90),
            ("module bind+columns", "epro_bind + two epro_columns, wrk "
             "c=200: rows/s vs the same without them", 0.95)):
        c = find(res, tool="wrk", target=target, body="single", conc=200)
        if not c:
            continue
        out.append(ratio_row(res, "%s (%.0f vs %.0f)" % (
            what, c["rows_s"], s["rows_s"]), ("module", "single"),
            (target, "single"), c["rows_s"] / s["rows_s"], floor))
    return out


def fhir_targets(res):
    """Issue 11's HTTP targets: rows/s >= 0.7 and p99 <= 1.5x of native
    single at wrk c=200 in the same run; heap calls beyond return 201 no
    more than native's (PSS at c=1000: the generic rows)."""
    out = []
    for conc, f, s, _ in fhir_pairs(res):
        if conc != 200 or not f or not s or not s["rows_s"]:
            continue
        pair = (("module", s["body"]), (FHIR, "fhir-phq9"))
        out.append(ratio_row(
            res, "FHIR, wrk c=200: rows/s vs native %s's (%.0f vs "
            "%.0f)" % (s["body"], f["rows_s"], s["rows_s"]), *pair,
            f["rows_s"] / s["rows_s"], 0.7))
        if f.get("p99") and s.get("p99"):
            out.append(ratio_row(
                res, "FHIR, wrk c=200: p99 vs native %s's (%s vs %s "
                "ms)" % (s["body"], ms(f["p99"]), ms(s["p99"])), *pair,
                f["p99"] / s["p99"], 1.5, key="p99", below=True))
    hf, hs = fhir_heap(res)
    if hf and hs:
        ef = heap_per_request(hf, "module") - \
            heap_per_request(hf, "return 201")
        es = heap_per_request(hs, "module") - \
            heap_per_request(hs, "return 201")
        out.append(("FHIR heap calls per request beyond return 201 (same "
                    "body) vs native single's", "<= %.2f" % es,
                    "%.2f" % ef, "PASS" if ef <= es + 0.05 else "FAIL"))
        for h in res["heap"]:
            if h.get("fhir") and h.get("http_extra"):
                e8 = heap_per_request(h, "module") - \
                    heap_per_request(h, "return 201")
                out.append(("the same with `%s` (both locations)"
                            % h["http_extra"], "<= %.2f" % es, "%.2f" % e8,
                            "PASS" if e8 <= es + 0.05 else "FAIL"))
    return out


def bundle_targets(res):
    """Issue 12: a transaction Bundle of 100 PHQ-9 responses, entries/s
    >= 0.7 of the native array of 100's rows/s, wrk c=200, same run."""
    b = find(res, tool="wrk", target="module fhir bundle", conc=200)
    a = find(res, tool="wrk", target="module", body="array100", conc=200)
    if not b or not a or not a["rows_s"]:
        return []
    return [ratio_row(
        res, "FHIR transaction Bundle of 100, wrk c=200: entries/s vs "
        "native array100's rows/s (%.0f vs %.0f)" % (b["rows_s"],
                                                     a["rows_s"]),
        ("module", "array100"), ("module fhir bundle", "fhir-bundle100"),
        b["rows_s"] / a["rows_s"], 0.7)]


def fhir_section(res):
    """FHIR over HTTP: the module's /fhir location against native single
    submissions of the same run."""
    pairs = fhir_pairs(res)
    if not pairs:
        return ("Not in this run (no `wrk module fhir` case: a run "
                "before it, a --cases regex without it, or a module "
                "without `epro_questionnaires`).\n")
    L = []
    f0 = pairs[0][1] or {}
    L.append("`wrk -t2 -cN` posts the %s-byte US-Core-shaped PHQ-9 "
             "QuestionnaireResponse (bench/bodies.py fhir-phq9.json, "
             "`Content-Type: application/fhir+json`, no `Prefer`: the 201 "
             "carries the stored resource) to `/fhir/QuestionnaireResponse` "
             "(`epro_submit fhir; epro_questionnaires conf/fhir; "
             "epro_study STUDY-BENCH-01;`), each request with an identifier "
             "of its own (bench/post_unique.lua: a UUID in place of the "
             "body's, the same length), so every 201 is a new row; beside "
             "it `wrk module single-id` (the ~1 KB native submission with "
             "a submissionId, made unique per request by the same script, "
             "so that both sides pay the same load generator; runs before "
             "2026-12-04 20:30 compared with `single`, no id, the static "
             "bench/post.lua) and `return 201` with the FHIR body, on the "
             "same nginx in the same run. rows/s and p99 as in the HTTP "
             "tables; PSS = peak of one worker; CPU per row of the nginx "
             "workers and of PostgreSQL. Targets (issue 11): rows/s >= 0.7x "
             "and p99 <= 1.5x native at c=200, worker PSS < 16 MiB at "
             "c=1000.\n" % f0.get("bytes", "?"))
    rows = []
    for conc, f, s, o in pairs:
        if not f:
            continue

        def cpu(c, what):
            if not c or not c["stored"]:
                return "-"
            return "%.3f" % (c["cpu"][what] * 1e3 / c["stored"])

        rows.append([
            "c=%d" % conc, num(f["rows_s"]), ms(f.get("p99")),
            mib(f["pss_peak_kib"]),
            num(s["rows_s"]) if s else "-",
            ms(s.get("p99")) if s else "-",
            mib(s["pss_peak_kib"]) if s else "-",
            "**%.2f**" % (f["rows_s"] / s["rows_s"])
            if s and s["rows_s"] else "-",
            "**%.2f**" % (f["p99"] / s["p99"])
            if s and s.get("p99") and f.get("p99") else "-",
            num(o["req_s"]) if o else "-",
            "%s / %s" % (cpu(f, "nginx"), cpu(s, "nginx")),
            "%s / %s" % (cpu(f, "postgres"), cpu(s, "postgres")),
            "%s / %s" % (num((f.get("db") or {}).get("rows_per_commit"),
                             "%.1f"),
                         num((s.get("db") or {}).get("rows_per_commit"),
                             "%.1f") if s else "-"),
            "ok" if f["check"] and f.get("retries", 0) == 0
            else "**MISMATCH**"])
    L.append(table(["wrk", "FHIR rows/s", "FHIR p99 ms", "FHIR PSS MiB",
                    "native rows/s", "native p99 ms", "native PSS MiB",
                    "rows/s FHIR / native", "p99 FHIR / native",
                    "return 201 FHIR body 2xx/s",
                    "nginx CPU ms/row FHIR / native",
                    "PG CPU ms/row FHIR / native",
                    "rows/commit FHIR / native", "stored == 201s"], rows))
    L.append("")
    hf, hs = fhir_heap(res)
    if hf:
        rows = []
        for h, what in ((hf, "FHIR (wrk -c50, N logged)"),
                        (hs, "native single (hey -c50)")):
            if not h:
                continue
            pm = heap_per_request(h, "module")
            po = heap_per_request(h, "return 201")
            nb = h["module"].get("batches") or 1
            rows.append([what, h["module"].get("n", h["n"]), "%.2f" % pm,
                         "%.2f" % po, "**%.2f**" % (pm - po),
                         "%.2f" % (h.get("module_per_request") or 0),
                         "%.1f" % (h["module"].get("n", h["n"]) / nb)])
        L.append("Heap calls per request (as in \"Heap calls per "
                 "request\" below; the FHIR row by wrk with "
                 "post_unique.lua, N = each location's requests in "
                 "nginx's access log between the counter dumps; its "
                 "`return 201` gets the same FHIR body). Target: the FHIR "
                 "path's calls beyond `return 201` no more than "
                 "native's.\n")
        L.append(table(["body", "N (module)", "module", "return 201",
                        "module - return 201",
                        "less libpq's %d per batch"
                        % hf.get("libpq_per_batch", 4),
                        "requests per batch"], rows))
        L.append("")
    return "\n".join(L)


def h2_text(c):
    h2 = c.get("h2", {})
    return ("The same bodies over HTTP/2 without TLS (h2c, prior "
            "knowledge) to the same locations on a second listen socket of "
            "the same nginx, bounded as conf/gateway.example.conf bounds "
            "it (`http2_max_concurrent_streams 8; http2_body_preread_size "
            "64k;`): %d connections with %d streams each, %d requests in "
            "flight, N requests in all (h2load's `--log-file` gives each "
            "response's status and time, hence the percentiles). Against "
            "the HTTP/1.1 cases: a stream that waits for room has its "
            "body already read by nginx (up to the preread size), so the "
            "PSS columns show what HTTP/2 adds to the module's bound.\n"
            % (h2.get("connections", 0), h2.get("streams", 0),
               h2.get("connections", 0) * h2.get("streams", 0)))


def http_table(res, cases):
    head = ["target", "body (bytes)", "2xx/s", "rows/s", "p50 ms", "p99 ms",
            "max ms", "non-2xx", "sock err", "rows stored", "201 rows",
            "left", "refused", "check"]
    rows = []
    for c in cases:
        ceiling = c["target"] == "return 201"
        non2xx = c["non2xx"]
        if c.get("queue_full"):
            non2xx = "%d (%d queue full)" % (non2xx, c["queue_full"])
        rows.append([
            c["target"], "%s (%d)" % (c["body"], c["bytes"]),
            num(c["req_s"]), "-" if ceiling else num(c["rows_s"]),
            ms(c.get("p50")), ms(c.get("p99")), ms(c.get("max")), non2xx,
            c.get("socket_errors", 0), c["stored"],
            "-" if ceiling else c["acked_rows"], c["left_rows"],
            c.get("refused_rows", 0),
            "ok" if c["check"] else "**MISMATCH**"])
    return table(head, rows)


def resource_table(res, cases):
    head = ["target", "body", "PSS idle MiB", "PSS peak/worker MiB",
            "PSS peak sum MiB", "PSS after MiB", "CPU ms/req nginx", "PG",
            "loadgen", "others % of 2 CPUs", "commits", "rows/commit",
            "WAL bytes/row", "WAL fsyncs"]
    rows = []
    for c in cases:
        n = sum(c["status"].values()) or 1
        cpu = c["cpu"]
        rows.append([
            c["target"], c["body"],
            "/".join(mib(x) for x in c.get("pss_idle_kib", [])),
            "/".join(mib(x) for x in c["pss_peak_workers_kib"]),
            mib(c["pss_peak_sum_kib"]),
            "/".join(mib(x) for x in c.get("pss_after_kib", [])),
            "%.3f" % (cpu["nginx"] * 1e3 / n),
            "%.3f" % (cpu["postgres"] * 1e3 / n),
            "%.3f" % (cpu["loadgen"] * 1e3 / n),
            "%.0f" % (100 * cpu["others"] / cpu["capacity"])
            if cpu["capacity"] else "-"] + db_cells(c))
    return table(head, rows)


def db_cells(c):
    d = c.get("db")
    if not d or c.get("target") == "return 201":
        return ["-", "-", "-", "-"]
    return [d["commits"], num(d["rows_per_commit"], "%.1f"),
            num(d["wal_bytes_per_row"]), d["wal_syncs"]]


def ratio_table(res):
    rows = []
    for c in res["cases"]:
        if not c["target"].startswith("module"):
            continue
        o = find(res, tool=c["tool"], target="return 201", body=c["body"],
                 conc=c["conc"])
        if not o or not o["req_s"]:
            continue
        rows.append(["%s c=%d" % (c["tool"], c["conc"]), c["body"],
                     "%s (%s)" % (num(c["req_s"]), c["target"]),
                     num(o["req_s"]),
                     "%.2f" % (c["req_s"] / o["req_s"]),
                     "%s / %s" % (ms(c.get("p99")), ms(o.get("p99")))])
    return table(["load", "body", "module 2xx/s (location)",
                  "return 201 2xx/s",
                  "module / ceiling", "p99 ms module / ceiling"], rows)


def heap_label(h):
    """The body, and the http-level directive the row ran with, if any."""
    if h.get("http_extra"):
        return "%s (`%s`)" % (h["body"], h["http_extra"])
    return h["body"]


def heap_table(res):
    rows = []
    for h in res["heap"]:
        ns = {t: h[t].get("n", h["n"]) or 1 for t in ("module",
                                                        "return 201")}
        for t in ("module", "return 201"):
            d, n = h[t]["delta"], ns[t]
            rows.append([heap_label(h), h[t].get("target", t), n] +
                        ["%.2f" % (d[k] / n) for k in CALLS] +
                        ["%.2f" % (sum(d[k] for k in CALLS) / n),
                         "%.0f" % (d["bytes"] / n),
                         " ".join("%s:%d" % kv for kv in
                                  sorted(h[t]["status"].items()))])
        m, o = h["module"]["delta"], h["return 201"]["delta"]
        nm, no = ns["module"], ns["return 201"]
        rows.append([heap_label(h), "**difference**", "-" if nm != no else nm] +
                    ["%.2f" % (m[k] / nm - o[k] / no) for k in CALLS] +
                    ["**%.2f**" % (sum(m[k] / nm - o[k] / no
                                       for k in CALLS)),
                     "%.0f" % (m["bytes"] / nm - o["bytes"] / no), ""])
    return table(["body", "location", "N", "malloc", "calloc", "realloc",
                  "free", "posix_memalign", "all", "bytes asked",
                  "statuses"], rows)


def core_table(res):
    rows = []
    for r in res["core"]:
        rows.append([r["name"], "%d" % r["bytes"], "%d" % r["subs"],
                     "ok" if not r["status"] else "%d" % r["status"],
                     "%.1f" % (r["check_ns"] / 1e3),
                     "%.1f" % (r["parse_ns"] / 1e3),
                     "%.1f" % (r["encode_ns"] / 1e3),
                     "%.1f" % (r["total_ns"] / 1e3),
                     "%.2f" % r["ns_per_byte"], "%.0f" % r["mb_per_s"],
                     "%.1f" % (r["total_ns"] / 1e3 / max(r["subs"], 1)),
                     "%d" % r["arena_bytes"]])
    return table(["case", "bytes", "subs", "status", "strict scan us",
                  "parse+validate us (incl. scan)", "encode us",
                  "total us", "ns/byte", "MB/s", "us/submission",
                  "pool bytes"], rows)


def medplum_section(res):
    """The FHIR case against @medplum/core, and who refuses what."""
    m = res.get("medplum") or {}
    fhir = [r for r in res.get("core", [])
            if r["name"].startswith("fhir-phq9")]
    L = []
    if m.get("not_run"):
        L.append("@medplum/core: not run: %s.\n" % m["not_run"])
    elif m:
        mod = fhir[0]["total_ns"] if fhir else None
        rows = []
        if mod:
            rows.append(["module (epro_fhir_parse + epro_rows_add)",
                         "%.1f" % (mod / 1e3), "1.0x",
                         "R4 structure and datatypes, the Questionnaire's "
                         "rules, the total"])
        rows.append(["@medplum/core %s validateResource (node %s)"
                     % (m["version"], m["node"]),
                     "%.1f" % (m["validate_ns"] / 1e3),
                     "%.1fx" % m["ratio"] if m.get("ratio") else "",
                     "R4 structure (StructureDefinitions), no "
                     "Questionnaire"])
        rows.append(["@medplum/core: JSON.parse + validateResource",
                     "%.1f" % (m["parse_validate_ns"] / 1e3),
                     "%.1fx" % m["ratio_parse"] if m.get("ratio_parse")
                     else "", "the same, from the text"])
        L.append("The same %d-byte US-Core-shaped PHQ-9 QuestionnaireResponse "
                 "(bench/bodies.py fhir-phq9.json) per resource, in one "
                 "run; the ratio is the time over the module's (higher: "
                 "the module is that many times faster).\n"
                 % m.get("bytes", 0))
        L.append(table(["", "us/resource", "vs module", "checks"], rows))
        L.append("")
    verdicts = res.get("fhir_verdicts") or []
    if verdicts:
        faults = m.get("faults", {})
        rows = []
        for v in verdicts:
            f = faults.get("fhir-phq9-%s.json" % v["name"])
            rows.append([v["name"], v["what"],
                         "accepted" if not v["status"] else
                         "%d (%d issue%s)" % (v["status"], v["issues"],
                                              "" if v["issues"] == 1
                                              else "s"),
                         "not run" if f is None else
                         "**accepted**" if f["accepted"] else "refused"])
        L.append("One fault each in the same response: the module's answer "
                 "and @medplum/core's (validateResource):\n")
        L.append(table(["case", "fault", "module", "@medplum/core"], rows))
        L.append("")
    return "\n".join(L)


def reads_section(r):
    """GET [base]/QuestionnaireResponse/<id> of stored rows, beside return
    200 and pgbench's primary-key SELECT of the same rows"""
    rows = []
    for c in r["cases"]:
        extra = ""
        if c.get("ids_per_select"):
            extra = "%.1f ids per SELECT" % c["ids_per_select"]
        rows.append([c["name"], num(c.get("req_s")),
                     ms(c.get("p50")) if c["tool"] == "wrk" else "-",
                     ms(c.get("p99")) if c["tool"] == "wrk" else "-",
                     num(c.get("lat_avg_ms"), "%.1f"), extra])
    return ("%d rows stored before the case; wrk picks ids from their "
            "list (bench/get_ids.lua), %d s each.\n\n" % (r["ids"],
                                                         r["seconds"])
            + table(["case", "req/s (pgbench: tps)", "p50 ms", "p99 ms",
                     "avg ms", ""], rows)
            + "\n\nThe module: %.2f of pgbench's rate at the same clients "
            "(target >= %.1f), %.2f of return 200's." % (
                r["module_vs_pgbench"], r["target_vs_pgbench"],
                r["module_vs_ceiling"]))


def pgbench_table(res):
    rows = []
    for p in res["pgbench"]:
        cpu = p["cpu"]
        rows.append([p["name"], p["clients"], num(p["tps"]),
                     num(p["rows_s"]), num(p["lat_avg_ms"], "%.1f"),
                     ms(p.get("p50")), ms(p.get("p99")), ms(p.get("max")),
                     p["txns"], p["failed"], p["stored"],
                     "ok" if p["check"] else "**MISMATCH**",
                     "%.3f" % (cpu["postgres"] * 1e3
                               / max(p["txns"] * p["rows_per_txn"], 1)),
                     "%.0f" % (100 * (cpu["machine"] - cpu["postgres"]
                                      - cpu["loadgen"]) / cpu["capacity"])
                     if cpu["capacity"] else "-"] + db_cells(p)[2:])
    return table(["script", "clients", "tps", "rows/s", "lat avg ms",
                  "p50 ms", "p99 ms", "max ms", "transactions", "failed",
                  "rows stored", "check", "PG CPU ms/row",
                  "others % of 2 CPUs", "WAL bytes/row", "WAL fsyncs"],
                 rows)


def profile_section(res):
    prof = res.get("profile", {})
    out = []
    if prof.get("note"):
        out.append(prof["note"])
    for body in ("single", "array100"):
        p = prof.get(body)
        if not p:
            continue
        out.append("#### %s, wrk c=200 on /submit\n" % body)
        if p.get("error"):
            out.append("perf failed: `%s`\n" % p["error"])
            continue
        out.append("`%s` on the 2 workers while `%s`; %s samples.\n" % (
            p["command"], p["load"], p.get("samples", "?")))
        out.append("Self time by object:\n")
        out.append(table(["object", "self %"],
                         [[r["what"][0], "%.1f" % r["pct"]]
                          for r in p["dsos"]]))
        out.append("\nTop functions (self time, >= 0.4%):\n")
        out.append(table(["object", "function", "self %"],
                         [[r["what"][0], "`%s`" % r["what"][1],
                           "%.1f" % r["pct"]] for r in p["symbols"][:30]]))
        if p.get("children"):
            out.append("\nInclusive time (children, DWARF call graphs) of "
                       "the module's functions and of nginx/libc functions "
                       "on the request path (% of the workers' samples; "
                       "unwinding through libraries without debug info "
                       "may cut some stacks short):\n")
            out.append(table(["function", "children %", "self %"],
                             [["`%s`" % r["what"][0], "%.1f" % r["pct"],
                               num(r["self"], "%.1f")]
                              for r in p["children"]]))
        if p.get("pg_symbols"):
            out.append("\nPostgreSQL backends of the module's %d "
                       "connections, same window: `%s`; %s samples. Top "
                       "functions (self):\n" % (p["pg_backends"],
                                                 p["pg_command"],
                                                 p.get("pg_samples", "?")))
            out.append(table(["object", "function", "self %"],
                             [[r["what"][0], "`%s`" % r["what"][1],
                               "%.1f" % r["pct"]]
                              for r in p["pg_symbols"][:25]]))
        if p.get("pg_children"):
            out.append("\nPostgreSQL, inclusive time (DWARF call graphs) of "
                       "the phases of the module's batch statement (% of "
                       "the backends' samples; the Bind message converts "
                       "the 9 text array parameters):\n")
            out.append(table(["function", "children %", "self %"],
                             [["`%s`" % r["what"][0], "%.1f" % r["pct"],
                               num(r["self"], "%.1f")]
                              for r in p["pg_children"]]))
        out.append("")
    return "\n".join(out)


def runs_table(runs):
    """Side by side: one column group per full run."""
    keys = []
    for r in runs:
        for c in r["cases"]:
            k = (c["tool"], c["conc"], c["target"], c["body"])
            if k not in keys:
                keys.append(k)
    head = ["case"]
    for r in runs:
        head += ["%s 2xx/s" % r["label"], "p99 ms"]
    rows = []
    for k in keys:
        row = ["%s c=%d %s %s" % k]
        for r in runs:
            c = find(r, tool=k[0], conc=k[1], target=k[2], body=k[3])
            row += [num(c["req_s"]) if c else "-",
                    ms(c.get("p99")) if c else "-"]
        rows.append(row)
    for name in ("1 row/txn", "100 rows/txn", "100 rows/stmt",
                 "100 rows/stmt answers200 pglz",
                 "100 rows/stmt answers200 lz4"):
        for cl in sorted({p["clients"] for r in runs for p in r["pgbench"]
                          if p["name"] == name}):
            row = ["pgbench %s c=%d (rows/s)" % (name, cl)]
            for r in runs:
                p = pgb(r, name, cl)
                row += [num(p["rows_s"]) if p else "-",
                        ms(p.get("p99")) if p else "-"]
            rows.append(row)
    return table(head, rows)


def render(res, runs):
    L = []
    L.append("# ngx_http_epro_module benchmark (issue #4)\n")
    if res["mode"] == "smoke":
        L.append("**Smoke run** (`bash bench/run.sh --smoke`): seconds-long "
                 "loads, for CI; the figures are not comparable to a full "
                 "run.\n")
    L.append("- date: %s; full run took %.0f s" % (res["started"],
                                                   res.get("elapsed_s", 0)))
    L.append("- commit: `%s`%s; module: build/ngx_http_epro_module.so "
             "(built %s, sha256 %s…, loaded from a private copy)" % (
                 res["commit"],
                 " (src/ differs from HEAD: %s)" % "; ".join(res["tree_dirty"])
                 if res["tree_dirty"] else "", res["module_mtime"],
                 res["module_sha256"]))
    L.append("- CPU: %s; kernel %s" % (res["cpu"], res["kernel"]))
    v = res["versions"]
    L.append("- %s; %s; %s; wrk %s; hey %s; %s" % (
        v["nginx"], v["postgres"], v["pgbench"], v["wrk"].split()[1]
        if len(v["wrk"].split()) > 1 else v["wrk"], v["hey"], v["perf"]))
    L.append("- PostgreSQL: %s" % res.get("pg_settings", "?"))
    others = [c["cpu"]["others"] / c["cpu"]["capacity"]
              for c in res["cases"] if c["cpu"]["capacity"]]
    mean = 100 * sum(others) / len(others) if others else 0
    L.append("- %s Load average %s at the start, %s at the end; CPU used by "
             "processes other than this benchmark's nginx, PostgreSQL and "
             "load generator: %.0f%% of the machine on average during the "
             "HTTP cases (%.0f%% to %.0f%%, per case in the tables). Expect "
             "a few tens of percent of noise between runs." % (
                 "**The machine was shared**: other work ran on the same 2 "
                 "CPUs during the run." if mean >= 5 else
                 "The machine was otherwise quiet.",
                 "/".join(res["loadavg_start"]),
                 "/".join(res.get("loadavg_end", ["?"])),
                 mean,
                 100 * min(others) if others else 0,
                 100 * max(others) if others else 0))
    L.append("- Everything on 127.0.0.1: the load generator, nginx (2 "
             "workers) and PostgreSQL share the same 2 CPUs.\n")

    if res["failures"]:
        L.append("**Failures:**\n")
        L += ["- " + f for f in res["failures"]]
        L.append("")

    L.append("## Targets\n")
    L.append(table(["what", "target", "measured", "verdict"],
                   targets(res)))
    L.append("")
    L += paired_section(res)

    if len(runs) > 1:
        L.append("## Runs side by side\n")
        L.append("Every full run kept in bench/results/ (the newest is the "
                 "one detailed below):\n")
        L.append("\n".join("- %s: %s, commit %s, %.0f s, others' CPU "
                           "%.0f%%" % (r["label"], r["started"], r["commit"],
                                       r.get("elapsed_s", 0),
                                       r.get("others_pct", 0))
                           for r in runs))
        L.append("")
        L.append(runs_table(runs))
        L.append("")

    L.append("## Database ceiling: pgbench\n")
    L.append("The same table, the same row (payload = the ~1 KB single "
             "submission, answers = payload::jsonb -> 'answers', "
             "gen_random_uuid() ids, ON CONFLICT DO NOTHING RETURNING), "
             "`-M prepared`, after TRUNCATE and CHECKPOINT. '100 rows/txn' "
             "is BEGIN, 100 single-row INSERTs, COMMIT; '100 rows/stmt' is "
             "one INSERT ... SELECT of 100 rows from generate_series (closest to "
             "the module's one-statement batches; the jsonb cast is made to "
             "depend on the row so that it is parsed per row, not folded "
             "once per statement). '100 rows/stmt answers200 pglz' and "
             "'... lz4': the same statement with the 8 KB 200-answer body, "
             "its answers and payload compressed by pglz (PostgreSQL's "
             "default) or lz4 (sql/schema.sql). %d clients = the module's "
             "2 workers x epro_pg_pool_size 4. Latencies per transaction "
             "from `-l`.\n"
             % (min((p["clients"] for p in res["pgbench"]), default=0)))
    L.append(pgbench_table(res))
    L.append("")

    L.append("## HTTP\n")
    L.append("Per case: TRUNCATE + CHECKPOINT, rows counted before and "
             "after (after the last batch committed), nginx's access log "
             "and error log read for the case. **2xx/s** and **rows/s** "
             "count 201s seen by the client over the load's duration. "
             "**201 rows** = 201s x rows per request; **left** = rows of "
             "requests whose client went away after they were queued (wrk "
             "stops mid-flight; the module still commits them and logs "
             "\"client left before the commit\"), unless their batch is "
             "then refused; **refused** = rows refused with 503 after "
             "waiting epro_pg_timeout in the queue (\"queued row(s) "
             "refused\" in the log); **check** = rows stored == 201s logged "
             "by nginx x rows + left when nothing was refused, else 201s "
             "logged x rows <= rows stored <= that + left; and 201s seen by "
             "the client <= 201s logged (hey: rows stored == 201s x rows "
             "exactly). Each case runs on freshly started workers after the "
             "module's queue drained (no statement running on its "
             "connections). **PSS** sampled every 200 ms from "
             "/proc/PID/smaps_rollup; idle = right after start, after = "
             "once the case drained (glibc keeps what it got). **CPU "
             "ms/req** = CPU time of the "
             "nginx workers / PostgreSQL (postmaster and backends) / load "
             "generator per response; **others** = the rest of the "
             "machine's busy time. **module pool=N**: /submit with "
             "`epro_pg_pool_size N` (default 4) at the http level, fewer "
             "and larger batches. **module unnamed**: `epro_pg_statement "
             "unnamed` (an unnamed INSERT and a transaction-local "
             "statement_timeout pipelined per batch, no prepared "
             "statement). **module pgbouncer**: the same through "
             "PgBouncer in transaction pooling mode, as many server "
             "connections as nginx has. **module+buf128k**: /submit-buf, "
             "`client_body_buffer_size 128k` (arrays stay in memory instead "
             "of a temporary file). **commits, rows/commit, WAL**: "
             "pg_stat_database.xact_commit (less this script's own "
             "queries), pg_current_wal_lsn() and pg_stat_wal.wal_sync "
             "deltas over the case.\n")
    for tool, conc, title in (("hey", 200, "hey -n N -c 200 (the seed's "
                               "command)"),
                              ("wrk", 200, "wrk -t2 -c200 -d%ss"),
                              ("wrk", 1000, "wrk -t2 -c1000 -d%ss"),
                              ("h2load", 200, "HTTP/2: h2load -n N -t2 "
                               "-c%d -m%d (h2c)")):
        cases = [c for c in res["cases"]
                 if c["tool"] == tool and c["conc"] == conc]
        if not cases:
            continue
        if tool == "h2load":
            h2 = cases[0].get("h2", {})
            title = title % (h2.get("connections", 0), h2.get("streams", 0))
        elif "%s" in title:
            title = title % cases[0]["command"].split("-d")[1].split("s")[0]
        L.append("### %s\n" % title)
        if tool == "h2load":
            L.append(h2_text(cases[0]))
        L.append(http_table(res, cases))
        L.append("")
        L.append(resource_table(res, cases))
        notes = [c for c in cases if c.get("note") or c["log_problems"]
                 or c.get("temp_file_bodies") or c.get("refused_rows")]
        for c in notes:
            parts = []
            if c.get("note"):
                parts.append(c["note"])
            if c.get("temp_file_bodies"):
                parts.append("%d request bodies buffered to a temporary file "
                             "(client_body_buffer_size 16k, the default)"
                             % c["temp_file_bodies"])
            if c.get("refused_rows"):
                parts.append("%d rows refused with 503 after waiting "
                             "epro_pg_timeout in the queue" % c["refused_rows"])
            if c["log_problems"]:
                parts.append("%d other warn/error lines in nginx's log, "
                             "e.g. %s" % (c["log_problems"], "; ".join(
                                 "`%s`" % x for x in
                                 c["log_problem_sample"])))
            L.append("\n- %s %s: %s." % (c["target"], c["body"],
                                          "; ".join(parts)))
        L.append("")

    L.append("### The module against the HTTP ceiling\n")
    L.append(ratio_table(res))
    L.append("")

    L.append("## FHIR over HTTP (issue 11)\n")
    L.append(fhir_section(res))

    if res.get("reads"):
        L.append("## FHIR reads by id (issue 12)\n")
        L.append(reads_section(res["reads"]))
        L.append("")

    L.append("## Heap calls per request (workers, steady state)\n")
    L.append("LD_PRELOAD=bench/malloc_count.so (counts malloc, calloc, "
             "realloc, free and the aligned allocators; nginx's pools use "
             "posix_memalign) in a second nginx with the same configuration; "
             "after a warm-up, the counters of both workers are dumped "
             "(SIGRTMIN+5) before and after N requests with hey -c 50 "
             "(keep-alive), for the module and for `return 201`. The "
             "fhir-phq9 rows: wrk -c 50 with bench/post_unique.lua for a "
             "few seconds instead (one identifier in hey's one body would "
             "make every request after the first a retry), /fhir/"
             "QuestionnaireResponse and `return 201` with the same body, "
             "N per location = its requests in nginx's access log "
             "between the dumps. Per request:\n")
    L.append(heap_table(res))
    L.append("")

    L.append("## Core micro-benchmark (plain C, no nginx)\n")
    L.append("`bench/core_bench.c` with src/core/epro_json.c, "
             "epro_parse.c, epro_encode.c, epro_instr.c, epro_tree.c, "
             "-lm, -O2: epro_parse "
             "(strict scan, the JSON tree into an arena like the request "
             "pool, "
             "contract, clock, instruments with the strict policy when "
             "definitions are given) then UUIDv7 ids and epro_rows_add + "
             "epro_rows_finish into reused batch buffers. Median of 7 "
             "rounds. 'no defs' = the same body without instrument "
             "definitions; the DIARY-200 definitions (bench/bodies.py) "
             "are conf/instruments.json plus one 200-item instrument "
             "describing answers200.json. The fhir-phq9 case (with "
             "epro_fhir.c, epro_fhir_q.c, epro_sha1.c) is `epro_submit "
             "fhir`'s path: epro_fhir_parse (strict scan, the tree, R4 "
             "structure, the PHQ-9 Questionnaire's rules, the mapping, "
             "the flattened answers, the score) then the id and "
             "epro_rows_add; fhir-bundle100 the same for the HTTP case's "
             "transaction Bundle of 100 responses (us/submission per "
             "entry). One second for all cases at the start of the run: "
             "wall-clock figures that move by a third between runs; "
             "bench/NOTES.md gives callgrind's instruction counts.\n")
    L.append(core_table(res))
    L.append("")

    L.append("### FHIR R4: the module against @medplum/core\n")
    L.append(medplum_section(res))

    L.append("## Profile of the workers\n")
    L.append(profile_section(res))

    L.append("## Command lines\n")
    L.append("`bash bench/run.sh%s` ran everything below (bench/bench.py)."
             "\n" % (" --smoke" if res["mode"] == "smoke" else ""))
    L.append("- PostgreSQL: `%s`" % res["commands"].get("pg", "?"))
    L.append("- helpers: `%s`; `%s`" % (res["commands"].get("core_build"),
                                        res["commands"].get("malloc_build")))
    L.append("- core: `%s`" % res["commands"].get("core"))
    if (res.get("medplum") or {}).get("command"):
        L.append("- @medplum/core: `%s`" % res["medplum"]["command"])
    for p in res["pgbench"]:
        L.append("- pgbench %s c=%d: `%s`" % (p["name"], p["clients"],
                                               p["command"]))
    for c in res["cases"]:
        L.append("- %s %s %s c=%d: `%s`%s" % (
            c["tool"], c["target"], c["body"], c["conc"], c["command"],
            variant_note(c["target"])))
    if res["heap"]:
        L.append("- heap counting: the same nginx started with "
                 "`LD_PRELOAD=$TMP/malloc_count.so MALLOC_COUNT_DIR=$TMP/"
                 "malloc`, counters written by `kill -RTMIN+5 <worker pid>` "
                 "before and after each of:")
    for h in res["heap"]:
        for t in ("module", "return 201"):
            L.append("- heap %s %s: `%s` (after a warm-up of %s)" % (
                heap_label(h), h[t].get("target", t), h[t]["command"],
                "1 s" if h.get("fhir") else "N/5"))
    for body in ("single", "array100"):
        p = res.get("profile", {}).get(body)
        if p and p.get("report_command"):
            L.append("- perf %s: `%s`, then `%s`, and the PostgreSQL "
                     "backends: `%s`" % (body, p["command"],
                                         p["report_command"],
                                         p.get("pg_command", "-")))
    L.append("\nnginx.conf ($TMP is the run's temp dir):\n")
    L.append("```nginx\n%s```\n" % res.get("nginx_conf", ""))
    if res.get("pgbouncer_ini"):
        L.append("PgBouncer's configuration (module pgbouncer):\n")
        L.append("```ini\n%s```\n" % res["pgbouncer_ini"])
    for name, text in res.get("pgbench_scripts", {}).items():
        L.append("pgbench script '%s':\n\n```\n%s```\n" % (name, text))
    return "\n".join(L)


def write(res, bench_dir):
    out = os.path.join(bench_dir, "results")
    os.makedirs(out, exist_ok=True)
    others = [c["cpu"]["others"] / c["cpu"]["capacity"]
              for c in res["cases"] if c["cpu"]["capacity"]]
    res["others_pct"] = 100 * sum(others) / len(others) if others else 0
    paths = []
    if res["mode"] == "smoke":
        res["label"] = "smoke"
        j = os.path.join(out, "smoke.json")
        with open(j, "w") as f:
            json.dump(res, f, indent=1)
        md = os.path.join(out, "smoke.md")
        with open(md, "w") as f:
            f.write(render(res, [res]))
        return [j, md]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    j = os.path.join(out, "full-%s.json" % stamp)
    with open(j, "w") as f:
        json.dump(res, f, indent=1)
    paths.append(j)
    paths.append(rebuild(bench_dir, res))
    return paths


def rebuild(bench_dir, res=None):
    """RESULTS.md from the newest full run in bench/results/ (or res)."""
    out = os.path.join(bench_dir, "results")
    runs = []
    for fn in sorted(glob.glob(os.path.join(out, "full-*.json")))[-4:]:
        with open(fn) as f:
            r = json.load(f)
        r["label"] = "run %s" % os.path.basename(fn)[5:-5]
        runs.append(r)
    if res is None:
        res = runs[-1]
    text = render(res, runs)
    notes = os.path.join(bench_dir, "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            text += "\n" + f.read()
    md = os.path.join(bench_dir, "RESULTS.md")
    with open(md, "w") as f:
        f.write(text)
    return md


if __name__ == "__main__":
    # python3 bench/report.py: RESULTS.md again from bench/results/ (after
    # editing bench/NOTES.md, say), without running anything
    print(rebuild(os.path.dirname(os.path.abspath(__file__))))
