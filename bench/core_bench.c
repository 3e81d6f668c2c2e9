/*
 * Micro-benchmark of the plain-C core (src/core/epro_*.c), no nginx, no libpq.
 *
 *   gcc -O2 -g -I src/core bench/core_bench.c src/core/epro_json.c \
 *       src/core/epro_parse.c src/core/epro_encode.c src/core/epro_instr.c \
 *       src/core/epro_tree.c src/core/epro_fhir.c src/core/epro_fhir_q.c \
 *       src/core/epro_sha1.c -lm -o core_bench
 *   core_bench [-t seconds] [-c] NAME:BODY[:INSTRUMENTS[:strict|known|off]]
 *       ... NAME:BODY:QUESTIONNAIRE[,QUESTIONNAIRE...]:fhir ...
 *
 * A case ending in ":fhir" is a FHIR R4 QuestionnaireResponse checked the
 * way `epro_submit fhir` does it (epro_fhir_parse: the JSON tree built
 * under the strict scan's rules, R4 structure, the
 * Questionnaire's rules, the mapping, the flattened answers and the
 * score), against the Questionnaires (files, each one or a Bundle) loaded
 * onto the heap like the configuration; encode is the id and
 * epro_rows_add of the mapped submission.
 *
 * -c: no timing; one line per case, "name status nissues first-issue",
 * the verdict only (bench.py compares it with @medplum/core's).
 *
 * For each case: the body is parsed the way the module's body handler does
 * it (epro_parse: strict JSON scan, JSON tree into an arena, contract, clock
 * and instrument checks), ids are assigned to submissions without one
 * (UUIDv7) and the rows are appended to batch columns the way the
 * database side does it (epro_rows_add, epro_rows_finish on buffers that
 * are reused from batch to batch, as recycled batches are).
 *
 * The arena mirrors the request pool: bump allocation, free is a no-op,
 * reset after each request; its chunks are kept, so that the loop measures
 * the core and not malloc.  Timings are the median of 7 rounds of at least
 * seconds/7 each.  One line per case on stdout, tab-separated:
 *
 *   name bytes subs status iters check_ns parse_ns encode_ns total_ns
 *   ns_per_byte mb_per_s arena_bytes
 *
 * status is the parse result (0 ok, 400, 422); with 422 the first error is
 * printed on stderr, and the timing is that of the rejection path.
 *
 * CORE_BENCH_ITERS=N in the environment: exactly N calls of each phase,
 * one round, for instruction counting under valgrind --tool=callgrind
 * (deterministic where wall time on a shared machine is not):
 *   valgrind --tool=callgrind --branch-sim=yes core_bench CASE
 *   callgrind_annotate --inclusive=yes callgrind.out.*  (do_check,
 *   do_parse, do_encode: Ir, Bcm per N calls)
 */


#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epro_core.h"
#include "epro_fhir.h"


#define ROUNDS       7
#define ARENA_CHUNK  (64 * 1024)


typedef struct arena_chunk_s  arena_chunk_t;

struct arena_chunk_s {
    arena_chunk_t  *next;
    size_t          size;
    size_t          used;
    char            data[];
};


typedef struct {
    arena_chunk_t  *first;
    arena_chunk_t  *cur;
    size_t          total;      /* bytes handed out since the reset */
} arena_t;


static void *
arena_alloc(void *ctx, size_t size)
{
    arena_t        *a = ctx;
    arena_chunk_t  *c, *n;

    size = (size + 15) & ~(size_t) 15;
    a->total += size;

    for (c = a->cur; c; c = c->next) {
        if (c->size - c->used >= size) {
            a->cur = c;
            c->used += size;
            return c->data + c->used - size;
        }

        if (c->next == NULL) {
            break;
        }

        c->next->used = 0;
    }

    n = malloc(sizeof(arena_chunk_t)
               + (size > ARENA_CHUNK ? size : ARENA_CHUNK));
    if (n == NULL) {
        return NULL;
    }

    n->size = size > ARENA_CHUNK ? size : ARENA_CHUNK;
    n->used = size;
    n->next = NULL;

    if (c) {
        c->next = n;

    } else {
        a->first = n;
    }

    a->cur = n;

    return n->data;
}


static void
arena_reset(arena_t *a)
{
    if (a->first) {
        a->first->used = 0;
    }

    a->cur = a->first;
    a->total = 0;
}


static void *
heap_alloc(void *ctx, size_t size)
{
    (void) ctx;
    return malloc(size);
}


static void
heap_free(void *ctx, void *p)
{
    (void) ctx;
    free(p);
}


static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}


static char *
read_file(const char *path, size_t *len)
{
    char   *p;
    long    n;
    FILE   *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc((size_t) n + 1);

    if (p == NULL || fread(p, 1, (size_t) n, f) != (size_t) n) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }

    fclose(f);
    p[n] = '\0';
    *len = (size_t) n;

    return p;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


typedef struct {
    const char                *body;
    size_t                     len;
    const epro_instruments_t  *instruments;
    epro_policy_e              policy;
    int64_t                    now_ms;
    arena_t                    arena;
    epro_alloc_t               pool;
    epro_alloc_t               heap;
    epro_rows_t                rows;
    epro_request_t             req;
    char                       received[EPRO_TIME_LEN + 1];
    unsigned char              rnd[10];
    const epro_fhir_set_t     *fhir;        /* NULL: the native contract */
    epro_fhir_request_t        freq;
    epro_fhir_bundle_t         fbundle;     /* a Bundle body's entries */
} bench_t;


static int
do_parse(bench_t *b)
{
    arena_reset(&b->arena);

    if (b->fhir) {
        b->freq.set = b->fhir;
        b->freq.bundle = &b->fbundle;
        b->fbundle.max_entries = 1000;
        return epro_fhir_parse(&b->freq, b->body, b->len, &b->pool);
    }

    memset(&b->req, 0, sizeof(epro_request_t));
    b->req.max_submissions = 100;
    b->req.instruments = b->instruments;
    b->req.policy = b->policy;
    b->req.now_ms = b->now_ms;
    b->req.skew_ms = 5 * 60 * 1000;     /* epro_clock_skew default */
    b->req.max_age_ms = -1;             /* epro_max_age default off */

    return epro_parse(&b->req, b->body, b->len, &b->pool);
}


static int
do_check(bench_t *b)
{
    arena_reset(&b->arena);
    memset(&b->req, 0, sizeof(epro_request_t));

    return epro_json_check(b->body, b->len, &b->req, &b->pool);
}


static int
do_encode(bench_t *b)
{
    size_t             i;
    epro_submission_t  sub;

    epro_rows_reset(&b->rows);

    for (i = 0; b->fhir && b->fbundle.found && i < b->fbundle.nentries;
         i++)
    {
        sub = b->fbundle.entries[i].req.sub;

        if (sub.id[0] == '\0') {
            epro_uuid_v7(sub.id, (uint64_t) b->now_ms, b->rnd);
        }

        if (epro_rows_add(&b->rows, &sub, b->received, &b->heap) != EPRO_OK) {
            return -1;
        }
    }

    if (b->fhir && b->fbundle.found) {
        return epro_rows_finish(&b->rows, &b->heap);
    }

    if (b->fhir) {
        sub = b->freq.sub;

        if (sub.id[0] == '\0') {
            epro_uuid_v7(sub.id, (uint64_t) b->now_ms, b->rnd);
        }

        if (epro_rows_add(&b->rows, &sub, b->received, &b->heap) != EPRO_OK) {
            return -1;
        }

        return epro_rows_finish(&b->rows, &b->heap);
    }

    for (i = 0; i < b->req.nsubs; i++) {
        if (b->req.subs[i].id[0] == '\0') {
            epro_uuid_v7(b->req.subs[i].id, (uint64_t) b->now_ms, b->rnd);
        }

        if (epro_rows_add(&b->rows, &b->req.subs[i], b->received, &b->heap)
            != EPRO_OK)
        {
            return -1;
        }
    }

    return epro_rows_finish(&b->rows, &b->heap);
}


/* median over ROUNDS of the mean time per call, each round >= budget */

static long  fixed_iters;


static double
measure(bench_t *b, int (*fn)(bench_t *), double budget, long *iters)
{
    int      r;
    long     n, total;
    double   t0, t, per[ROUNDS];

    if (fixed_iters) {
        t0 = now_ns();

        for (n = 0; n < fixed_iters; n++) {
            (void) fn(b);
        }

        *iters = fixed_iters;

        return (now_ns() - t0) / (double) fixed_iters;
    }

    total = 0;

    for (r = 0; r < ROUNDS; r++) {
        n = 0;
        t0 = now_ns();

        do {
            (void) fn(b);
            n++;
            t = now_ns() - t0;
        } while (t < budget || n < 3);

        per[r] = t / (double) n;
        total += n;
    }

    qsort(per, ROUNDS, sizeof(double), cmp_double);

    *iters = total;

    return per[ROUNDS / 2];
}


/* Questionnaires from a comma-separated list of files, on the heap */

static const epro_fhir_set_t *
load_fhir(const char *list, epro_alloc_t *heap)
{
    char             *names, *file, err[256];
    size_t            len;
    char             *text;
    epro_fhir_set_t  *set;

    set = calloc(1, sizeof(epro_fhir_set_t));
    names = strdup(list);

    if (set == NULL || names == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }

    for (file = strtok(names, ","); file; file = strtok(NULL, ",")) {
        text = read_file(file, &len);

        if (epro_fhir_load(set, text, len, err, sizeof(err), heap)
            != EPRO_OK)
        {
            fprintf(stderr, "%s: %s\n", file, err);
            exit(2);
        }

        free(text);
    }

    free(names);

    return set;
}


int
main(int argc, char **argv)
{
    int                  i, rc, status, verdict;
    char                *spec, *name, *path, *ipath, *pol, err[256];
    long                 it_check, it_parse, it_encode;
    double               seconds, budget, c_ns, p_ns, e_ns, total;
    size_t               ilen;
    char                *itext;
    bench_t              b;
    struct timespec      ts;
    epro_instruments_t  *set;

    seconds = 1.0;
    verdict = 0;
    i = 1;

    if (getenv("CORE_BENCH_ITERS")) {
        fixed_iters = atol(getenv("CORE_BENCH_ITERS"));
    }

    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        seconds = atof(argv[2]);
        i = 3;
    }

    if (i < argc && strcmp(argv[i], "-c") == 0) {
        verdict = 1;
        i++;
    }

    if (i >= argc) {
        fprintf(stderr, "usage: %s [-t seconds] "
                "NAME:BODY[:INSTRUMENTS[:strict|known|off]] ...\n", argv[0]);
        return 2;
    }

    /* one third each for check, parse and encode, over ROUNDS rounds */
    budget = seconds * 1e9 / 3 / ROUNDS;

    clock_gettime(CLOCK_REALTIME, &ts);

    if (verdict) {
        printf("name\tstatus\tnissues\tissue\n");

    } else {
        printf("name\tbytes\tsubs\tstatus\titers\tcheck_ns\tparse_ns\t"
               "encode_ns\ttotal_ns\tns_per_byte\tmb_per_s\t"
               "arena_bytes\n");
    }

    for ( /* void */ ; i < argc; i++) {
        spec = strdup(argv[i]);
        name = strtok(spec, ":");
        path = strtok(NULL, ":");
        ipath = strtok(NULL, ":");
        pol = strtok(NULL, ":");

        if (name == NULL || path == NULL) {
            fprintf(stderr, "bad case \"%s\"\n", argv[i]);
            return 2;
        }

        memset(&b, 0, sizeof(bench_t));

        b.body = read_file(path, &b.len);
        b.pool.alloc = arena_alloc;
        b.pool.free = NULL;
        b.pool.ctx = &b.arena;
        b.heap.alloc = heap_alloc;
        b.heap.free = heap_free;
        b.heap.ctx = NULL;
        b.now_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        b.policy = EPRO_POLICY_OFF;
        memset(b.rnd, 0x5a, sizeof(b.rnd));

        epro_unix_to_rfc3339(b.received, ts.tv_sec, 123);

        if (ipath && pol && strcmp(pol, "fhir") == 0) {
            b.fhir = load_fhir(ipath, &b.heap);

        } else if (ipath && strcmp(ipath, "-") != 0) {
            itext = read_file(ipath, &ilen);
            set = calloc(1, sizeof(epro_instruments_t));

            /* definitions live as long as the configuration: the heap */
            if (epro_instruments_load(set, itext, ilen, err, sizeof(err),
                                      &b.heap)
                != EPRO_OK)
            {
                fprintf(stderr, "%s: %s\n", ipath, err);
                return 2;
            }

            b.instruments = set;
            b.policy = EPRO_POLICY_STRICT;
        }

        if (pol && b.fhir == NULL) {
            b.policy = strcmp(pol, "known") == 0 ? EPRO_POLICY_KNOWN
                       : strcmp(pol, "off") == 0 ? EPRO_POLICY_OFF
                       : EPRO_POLICY_STRICT;
        }

        rc = do_parse(&b);

        if (b.fhir) {
            status = (rc == EPRO_ERROR) ? b.freq.status : rc;

            if (verdict) {
                printf("%s\t%d\t%lu\t%s%s%s\n", name, status,
                       (unsigned long) b.freq.nfound,
                       b.freq.nissues ? b.freq.issues[0].expression : "",
                       b.freq.nissues ? ": " : "",
                       b.freq.nissues ? b.freq.issues[0].message : "");
                free(spec);
                continue;
            }

        } else {
            status = (rc == EPRO_ERROR) ? b.req.status : rc;
        }

        if (verdict) {
            printf("%s\t%d\t%lu\t%s%s%s\n", name, status,
                   (unsigned long) b.req.nerrors,
                   b.req.nerrors ? b.req.errors[0].path : "",
                   b.req.nerrors ? ": " : "",
                   b.req.nerrors ? b.req.errors[0].message : "");
            free(spec);
            continue;
        }

        if (status != EPRO_OK && b.fhir) {
            fprintf(stderr, "%s: parse status %d, %lu issue(s)%s%s%s%s\n",
                    name, status, (unsigned long) b.freq.nfound,
                    b.freq.nissues ? ": " : "",
                    b.freq.nissues ? b.freq.issues[0].expression : "",
                    b.freq.nissues ? " " : "",
                    b.freq.nissues ? b.freq.issues[0].message : "");

        } else if (status != EPRO_OK) {
            fprintf(stderr, "%s: parse status %d, %lu error(s)%s%s%s%s\n",
                    name, status, (unsigned long) b.req.nerrors,
                    b.req.nerrors ? ": " : "",
                    b.req.nerrors ? b.req.errors[0].path : "",
                    b.req.nerrors ? " " : "",
                    b.req.nerrors ? b.req.errors[0].message : "");
        }

        c_ns = measure(&b, do_check, budget, &it_check);
        p_ns = measure(&b, do_parse, budget, &it_parse);

        e_ns = 0;
        it_encode = 0;

        if (status == EPRO_OK) {
            (void) do_parse(&b);
            e_ns = measure(&b, do_encode, budget, &it_encode);
        }

        (void) do_parse(&b);
        total = p_ns + e_ns;

        printf("%s\t%lu\t%lu\t%d\t%ld\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.1f\t"
               "%lu\n",
               name, (unsigned long) b.len,
               (unsigned long) (b.fhir ? (b.fbundle.found ? b.fbundle.nentries
                                 : (status == EPRO_OK)) : b.req.nsubs),
               status, it_parse, c_ns, p_ns, e_ns, total,
               total / (double) b.len, (double) b.len / total * 1e3,
               (unsigned long) b.arena.total);
        fflush(stdout);

        epro_rows_free(&b.rows, &b.heap);
        free(spec);
    }

    return 0;
}
