
/*
 * libFuzzer target for the plain-C core (src/core/epro_*.c): the input is a
 * request body.
 *
 * Each input is parsed with epro_parse() (max_submissions 100) into an
 * arena that mirrors nginx's request pool: free is a no-op, new memory is
 * filled with garbage, and everything is released after the input.  Every
 * arena allocation is a malloc block of its own, so ASan sees overruns.
 *
 * EPRO_OK: generated ids are assigned, every submission is encoded with
 * epro_rows_add() into batch columns on a malloc/free allocator, and each
 * array literal is decoded back and compared with what went in; so are
 * the columns of rows moved one submission at a time with
 * epro_rows_copy(), as a split batch does.  400/422:
 * the problem+json body is built and read back with the strict checker
 * and the JSON tree.
 *
 * Then the same body is parsed again with instrument definitions (policy
 * strict or known), the clock checks on: that may only add errors, never
 * remove any or change a 400, and its problem+json is checked too.
 *
 * The core's JSON tree is built of every input: it must refuse exactly
 * the inputs the strict check refuses.  A body that passes is compared
 * with cJSON's tree of it (cJSON is the reference here
 * only): the same types, names, strings and numbers, in the same order;
 * each number's text is what the strict scan noted.
 *
 * Any broken invariant aborts, which libFuzzer reports as a crash.
 *
 *   test/fuzz/run.sh [seconds]
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "epro_core.h"
#include "epro_tree.h"
#include "fuzz_arena.h"


#define FUZZ_MAX_SUBMISSIONS  100
#define FUZZ_RECEIVED         "2026-11-27T07:15:00.123Z"
#define FUZZ_MS               1795763700123ULL
#define FUZZ_DAY_MS           86400000LL
#define FUZZ_CLIENT           "203.0.113.7"


static void *fuzz_heap_alloc(void *ctx, size_t size);
static void fuzz_heap_free(void *ctx, void *p);
static void fuzz_check_ok(epro_request_t *req, const uint8_t *data,
    size_t size, epro_alloc_t *a);
static void fuzz_check_rows(epro_request_t *req, epro_alloc_t *a);
static void fuzz_check_column(const epro_buf_t *b, uint32_t oid,
    const epro_str_t *want, size_t n);
static void fuzz_check_binary(const epro_buf_t *b, uint32_t oid,
    const epro_str_t *want, size_t n);
static uint32_t fuzz_get32(const char *p);
static void fuzz_check_tree(const uint8_t *data, size_t size,
    epro_alloc_t *a);
static int fuzz_same_tree(const epro_node_t *n, const cJSON *c,
    const epro_numbers_t *nums, size_t *k);
static void fuzz_check_problem(epro_request_t *req, epro_alloc_t *a);
static int fuzz_is(const epro_node_t *n, epro_node_type_e type);
static int fuzz_has_error(const epro_request_t *req, const epro_error_t *e);
static void fuzz_check_request(epro_request_t *req, int rc);
static int fuzz_field(const epro_str_t *s, int optional);
static int fuzz_utf8_valid(const char *s, size_t len);


static fuzz_arena_t        fuzz_arena;
static fuzz_arena_t        fuzz_conf_arena;     /* never released */
static epro_instruments_t  fuzz_instruments;


/* every item type, required items, unknown items allowed and refused */

static const char  fuzz_instruments_json[] =
    "{\"instruments\":["
    "{\"code\":\"PHQ-9\",\"version\":\"1\",\"items\":["
    "{\"id\":\"PHQ9_1\",\"type\":\"integer\",\"min\":0,\"max\":3,"
    "\"required\":true},"
    "{\"id\":\"PHQ9_2\",\"type\":\"integer\",\"min\":0,\"max\":3},"
    "{\"id\":\"q1\",\"type\":\"integer\",\"min\":0,\"max\":3}]},"
    "{\"code\":\"ALL\",\"version\":\"2\",\"title\":\"all types\","
    "\"unknownItems\":\"allow\",\"items\":["
    "{\"id\":\"i\",\"type\":\"integer\",\"min\":-5,\"max\":5},"
    "{\"id\":\"d\",\"type\":\"decimal\",\"min\":0.5,\"max\":99.5},"
    "{\"id\":\"s\",\"type\":\"string\",\"maxLength\":10},"
    "{\"id\":\"b\",\"type\":\"boolean\"},"
    "{\"id\":\"c\",\"type\":\"choice\",\"choices\":[\"none\",\"\\u00e9\",3],"
    "\"multiple\":true},"
    "{\"id\":\"dt\",\"type\":\"date\"},"
    "{\"id\":\"ts\",\"type\":\"datetime\",\"required\":true}]}"
    "]}";


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char          err[256];
    epro_alloc_t  a;

    (void) argc;
    (void) argv;

    a.alloc = fuzz_arena_alloc;
    a.free = fuzz_arena_free;
    a.ctx = &fuzz_conf_arena;

    if (epro_instruments_load(&fuzz_instruments, fuzz_instruments_json,
                              sizeof(fuzz_instruments_json) - 1, err,
                              sizeof(err), &a)
        != EPRO_OK)
    {
        fprintf(stderr, "fuzz_core: instruments: %s\n", err);
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc, rc2;
    size_t          i;
    epro_alloc_t    a;
    epro_request_t  req, req2;

    a.alloc = fuzz_arena_alloc;
    a.free = fuzz_arena_free;
    a.ctx = &fuzz_arena;

    /* the contract only: no instruments, no clock */

    memset(&req, 0, sizeof(epro_request_t));
    req.max_submissions = FUZZ_MAX_SUBMISSIONS;

    rc = epro_parse(&req, (const char *) data, size, &a);
    fuzz_check_request(&req, rc);

    if (rc == EPRO_OK) {
        fuzz_check_ok(&req, data, size, &a);

    } else {
        fuzz_check_problem(&req, &a);
    }

    /* the same body with instruments and the clock checks */

    memset(&req2, 0, sizeof(epro_request_t));
    req2.max_submissions = FUZZ_MAX_SUBMISSIONS;
    req2.instruments = &fuzz_instruments;
    req2.policy = (size & 1) ? EPRO_POLICY_KNOWN : EPRO_POLICY_STRICT;
    req2.now_ms = (int64_t) FUZZ_MS;
    req2.skew_ms = 300000;
    req2.max_age_ms = 365 * FUZZ_DAY_MS;

    rc2 = epro_parse(&req2, (const char *) data, size, &a);
    fuzz_check_request(&req2, rc2);

    /* more checks may add errors, never take one away */
    fuzz_assert(req.status != EPRO_STATUS_BAD_JSON
                || req2.status == EPRO_STATUS_BAD_JSON);
    fuzz_assert(req2.status != EPRO_STATUS_BAD_JSON
                || req.status == EPRO_STATUS_BAD_JSON);
    fuzz_assert(rc2 != EPRO_OK || rc == EPRO_OK);
    fuzz_assert(req.status != EPRO_STATUS_INVALID
                || req2.nerrors >= req.nerrors);

    /* and every error of the contract alone is among them */

    if (req.status == EPRO_STATUS_INVALID && !req2.truncated) {
        for (i = 0; i < req.nerrors; i++) {
            fuzz_assert(fuzz_has_error(&req2, &req.errors[i]));
        }
    }

    if (req.status == EPRO_STATUS_BAD_JSON) {
        fuzz_assert(req2.nerrors == 1);
        fuzz_assert(strcmp(req.errors[0].path, req2.errors[0].path) == 0);
        fuzz_assert(strcmp(req.errors[0].message, req2.errors[0].message)
                    == 0);
    }

    if (rc2 == EPRO_OK) {
        fuzz_assert(req2.nsubs == req.nsubs);

        for (i = 0; i < req.nsubs; i++) {
            fuzz_assert(req2.subs[i].payload.data
                        == req.subs[i].payload.data);
            fuzz_assert(req2.subs[i].payload.len
                        == req.subs[i].payload.len);
            fuzz_assert(strcmp(req2.subs[i].collected,
                               req.subs[i].collected) == 0);
        }

    } else {
        fuzz_check_problem(&req2, &a);
    }

    fuzz_check_tree(data, size, &a);

    fuzz_arena_release(&fuzz_arena);

    return 0;
}


static void
fuzz_check_tree(const uint8_t *data, size_t size, epro_alloc_t *a)
{
    size_t           k;
    cJSON           *c;
    epro_node_t     *n;
    epro_request_t   chk;
    epro_numbers_t   nums;

    memset(&chk, 0, sizeof(epro_request_t));
    memset(&nums, 0, sizeof(epro_numbers_t));

    /* the tree refuses exactly what the strict scan refuses */

    n = epro_tree_parse((const char *) data, size, a);

    if (epro_json_check_numbers((const char *) data, size, &chk, &nums, a)
        != EPRO_OK)
    {
        fuzz_assert(n == NULL);
        return;
    }

    fuzz_assert(n != NULL);

    c = cJSON_ParseWithLength((const char *) data, size);
    fuzz_assert(c != NULL);

    k = 0;
    fuzz_assert(fuzz_same_tree(n, c, &nums, &k));
    fuzz_assert(k == nums.n);

    cJSON_Delete(c);
}


static int
fuzz_same_tree(const epro_node_t *n, const cJSON *c,
    const epro_numbers_t *nums, size_t *k)
{
    size_t              len;
    const char         *text, *key;
    const cJSON        *cc;
    epro_node_t        *m;
    epro_node_type_e    t;

    static const epro_node_type_e  types[] = {
        [cJSON_False] = EPRO_NODE_FALSE, [cJSON_True] = EPRO_NODE_TRUE,
        [cJSON_NULL] = EPRO_NODE_NULL, [cJSON_Number] = EPRO_NODE_NUMBER,
        [cJSON_String] = EPRO_NODE_STRING, [cJSON_Array] = EPRO_NODE_ARRAY,
        [cJSON_Object] = EPRO_NODE_OBJECT
    };

    t = epro_node_type(n);

    if ((c->type & 0xff) > cJSON_Object || types[c->type & 0xff] != t) {
        return 0;
    }

    switch (t) {

    case EPRO_NODE_NUMBER:
        text = epro_node_text(n, &len);

        if (epro_node_number(n) != c->valuedouble || text == NULL
            || *k >= nums->n || nums->span[*k].data != text
            || nums->span[*k].len != len)
        {
            return 0;
        }

        (*k)++;

        return 1;

    case EPRO_NODE_STRING:
        return strcmp(epro_node_string(n), c->valuestring) == 0;

    case EPRO_NODE_ARRAY:
    case EPRO_NODE_OBJECT:
        cc = c->child;

        for (m = epro_node_child(n); m; m = epro_node_next(m)) {
            key = epro_node_key(m);

            if (cc == NULL
                || (t == EPRO_NODE_OBJECT
                    ? key == NULL || strcmp(key, cc->string) != 0
                    : key != NULL)
                || !fuzz_same_tree(m, cc, nums, k))
            {
                return 0;
            }

            cc = cc->next;
        }

        return cc == NULL;

    default:
        return epro_node_string(n) == NULL;
    }
}


static int
fuzz_has_error(const epro_request_t *req, const epro_error_t *e)
{
    size_t  i;

    for (i = 0; i < req->nerrors; i++) {
        if (strcmp(req->errors[i].path, e->path) == 0
            && strcmp(req->errors[i].message, e->message) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
fuzz_check_request(epro_request_t *req, int rc)
{
    /* the arena never refuses, so EPRO_NOMEM is a bug */
    fuzz_assert(rc == EPRO_OK || rc == EPRO_ERROR);
    fuzz_assert(rc == EPRO_OK ? req->status == EPRO_OK
                              : (req->status == EPRO_STATUS_BAD_JSON
                                 || req->status == EPRO_STATUS_INVALID));
    fuzz_assert(req->nerrors <= EPRO_MAX_ERRORS);
    fuzz_assert(!req->truncated || req->nerrors == EPRO_MAX_ERRORS);
    fuzz_assert(rc == EPRO_OK || req->nerrors >= 1);
    fuzz_assert(rc != EPRO_OK || req->nerrors == 0);
}


static void
fuzz_check_ok(epro_request_t *req, const uint8_t *data, size_t size,
    epro_alloc_t *a)
{
    char                id[EPRO_UUID_LEN + 1];
    size_t              i;
    const char         *body, *prev;
    epro_request_t      sub;
    epro_submission_t  *s;

    body = (const char *) data;
    prev = body;

    fuzz_assert(req->nerrors == 0);
    fuzz_assert(req->nsubs >= 1 && req->nsubs <= FUZZ_MAX_SUBMISSIONS);
    fuzz_assert(req->subs != NULL);

    for (i = 0; i < req->nsubs; i++) {
        s = &req->subs[i];

        fuzz_assert(s->id[0] == '\0' || strlen(s->id) == EPRO_UUID_LEN);
        fuzz_assert(fuzz_field(&s->study, 0));
        fuzz_assert(fuzz_field(&s->site, 1));
        fuzz_assert(fuzz_field(&s->subject, 0));
        fuzz_assert(fuzz_field(&s->visit, 0));
        fuzz_assert(fuzz_field(&s->instrument, 0));
        fuzz_assert(epro_rfc3339_valid(s->collected, strlen(s->collected))
                    == EPRO_OK);

        /* the payload is the element as sent, in order, an object */
        fuzz_assert(s->payload.data >= prev);
        fuzz_assert(s->payload.len >= 2);
        fuzz_assert(s->payload.data + s->payload.len <= body + size);
        fuzz_assert(s->payload.data[0] == '{');
        fuzz_assert(s->payload.data[s->payload.len - 1] == '}');
        prev = s->payload.data + s->payload.len;

        memset(&sub, 0, sizeof(epro_request_t));
        fuzz_assert(epro_json_check(s->payload.data, s->payload.len, &sub, a)
                    == EPRO_OK);

        /* a client's id is stored lowercase */
        if (s->id[0] != '\0') {
            fuzz_assert(epro_uuid_parse(id, s->id, EPRO_UUID_LEN)
                        == EPRO_OK);
            fuzz_assert(strcmp(id, s->id) == 0);
        }
    }

    fuzz_check_rows(req, a);
}


/* assigns ids as the handler does, then encodes and decodes the rows */

static void
fuzz_check_rows(epro_request_t *req, epro_alloc_t *arena)
{
    size_t              i, c, k, n;
    size_t              from[EPRO_NCOLS], to[EPRO_NCOLS];
    epro_str_t         *want;
    epro_rows_t         rows, copy;
    epro_alloc_t        heap;
    unsigned char       rnd[10];
    epro_submission_t  *s;

    heap.alloc = fuzz_heap_alloc;
    heap.free = fuzz_heap_free;
    heap.ctx = NULL;

    n = req->nsubs;

    for (i = 0; i < n; i++) {
        s = &req->subs[i];

        /* the handler sets the client's address, NULL for a unix socket */
        if (i % 2 == 0) {
            s->client.data = FUZZ_CLIENT;
            s->client.len = sizeof(FUZZ_CLIENT) - 1;
        }

        if (s->id[0] != '\0') {
            continue;
        }

        memset(rnd, 0x5a, sizeof(rnd));
        rnd[9] = (unsigned char) i;
        rnd[8] = (unsigned char) (i >> 8);
        epro_uuid_v7(s->id, FUZZ_MS, rnd);

        fuzz_assert(strlen(s->id) == EPRO_UUID_LEN);
        fuzz_assert(s->id[14] == '7');
    }

    want = fuzz_arena_alloc(arena->ctx, n * EPRO_NCOLS * sizeof(epro_str_t));

    for (i = 0; i < n; i++) {
        s = &req->subs[i];
        want[EPRO_COL_ID * n + i].data = s->id;
        want[EPRO_COL_ID * n + i].len = EPRO_UUID_LEN;
        want[EPRO_COL_STUDY * n + i] = s->study;
        want[EPRO_COL_SITE * n + i] = s->site;
        want[EPRO_COL_SUBJECT * n + i] = s->subject;
        want[EPRO_COL_VISIT * n + i] = s->visit;
        want[EPRO_COL_INSTRUMENT * n + i] = s->instrument;
        want[EPRO_COL_COLLECTED * n + i].data = s->collected;
        want[EPRO_COL_COLLECTED * n + i].len = strlen(s->collected);
        want[EPRO_COL_RECEIVED * n + i].data = FUZZ_RECEIVED;
        want[EPRO_COL_RECEIVED * n + i].len = sizeof(FUZZ_RECEIVED) - 1;
        want[EPRO_COL_PAYLOAD * n + i] = s->payload;
        want[EPRO_COL_CLIENT * n + i] = s->client;
        want[EPRO_COL_ANSWERS * n + i] = s->answers;
        want[EPRO_COL_FHIR_STATUS * n + i] = s->fhir_status;
        want[EPRO_COL_SCORE * n + i] = s->score;
    }

    memset(&rows, 0, sizeof(epro_rows_t));

    /* twice: the second time in buffers emptied by epro_rows_reset() */

    for (c = 0; c < 2; c++) {
        for (i = 0; i < n; i++) {
            fuzz_assert(epro_rows_add(&rows, &req->subs[i], FUZZ_RECEIVED,
                                      &heap)
                        == EPRO_OK);
        }

        fuzz_assert(epro_rows_finish(&rows, &heap) == EPRO_OK);
        fuzz_assert(rows.nrows == n);

        for (i = 0; i < EPRO_NCOLS; i++) {
            fuzz_check_column(&rows.col[i], epro_col_oid(i), &want[i * n], n);
        }

        epro_rows_reset(&rows);
    }

    /* and each submission's rows copied as they are into another set */

    memset(&copy, 0, sizeof(epro_rows_t));

    for (i = 0; i < n; i++) {
        for (k = 0; k < EPRO_NCOLS; k++) {
            from[k] = rows.col[k].len;
        }

        fuzz_assert(epro_rows_add(&rows, &req->subs[i], FUZZ_RECEIVED, &heap)
                    == EPRO_OK);

        for (k = 0; k < EPRO_NCOLS; k++) {
            to[k] = rows.col[k].len;
        }

        fuzz_assert(epro_rows_copy(&copy, &rows, from, to, 1, &heap)
                    == EPRO_OK);
    }

    fuzz_assert(epro_rows_finish(&copy, &heap) == EPRO_OK);
    fuzz_assert(copy.nrows == n);

    for (i = 0; i < EPRO_NCOLS; i++) {
        fuzz_check_column(&copy.col[i], epro_col_oid(i), &want[i * n], n);
    }

    epro_rows_free(&copy, &heap);
    epro_rows_free(&rows, &heap);
}


/*
 * Reads a column back as PostgreSQL's array_in() would: "{", elements
 * separated by ",", each NULL or a quoted string with \-escapes, "}";
 * or a binary one as array_recv() would.
 */

static void
fuzz_check_column(const epro_buf_t *b, uint32_t oid, const epro_str_t *want,
    size_t n)
{
    char        *d, *out;
    size_t       i;
    const char  *p, *end;

    if (oid) {
        fuzz_check_binary(b, oid, want, n);
        return;
    }

    fuzz_assert(b->data != NULL);
    fuzz_assert(b->len >= 2 && b->len < b->cap);
    fuzz_assert(b->data[0] == '{');
    fuzz_assert(b->data[b->len - 1] == '}');
    fuzz_assert(b->data[b->len] == '\0');

    /* a text parameter of libpq ends at the first NUL */
    fuzz_assert(strlen(b->data) == b->len);

    out = malloc(b->len);
    fuzz_assert(out != NULL);

    p = b->data + 1;
    end = b->data + b->len - 1;

    for (i = 0; i < n; i++) {
        if (i > 0) {
            fuzz_assert(p < end && *p == ',');
            p++;
        }

        if (want[i].data == NULL) {
            fuzz_assert(end - p >= 4 && memcmp(p, "NULL", 4) == 0);
            p += 4;
            continue;
        }

        fuzz_assert(p < end && *p == '"');
        p++;
        d = out;

        while (p < end && *p != '"') {
            if (*p == '\\') {
                p++;
                fuzz_assert(p < end);
            }

            *d++ = *p++;
        }

        fuzz_assert(p < end);
        p++;

        fuzz_assert((size_t) (d - out) == want[i].len);
        fuzz_assert(memcmp(out, want[i].data, want[i].len) == 0);
    }

    fuzz_assert(p == end);

    free(out);
}


/*
 * A binary array: one dimension of n elements from 1 (none if n is 0),
 * the flags saying whether one is NULL, the element type; each element
 * its length (-1: NULL) and its bytes, jsonb's after the version 1.
 * text cannot hold NUL: textrecv() would refuse the whole batch.
 */

static void
fuzz_check_binary(const epro_buf_t *b, uint32_t oid, const epro_str_t *want,
    size_t n)
{
    size_t       i, nulls;
    uint32_t     len;
    const char  *p, *end;

    fuzz_assert(b->data != NULL);
    fuzz_assert(b->len >= 12 && b->len < b->cap);
    fuzz_assert(fuzz_get32(b->data + 8) == oid);

    if (n == 0) {
        fuzz_assert(b->len == 12);
        fuzz_assert(fuzz_get32(b->data) == 0 && fuzz_get32(b->data + 4) == 0);
        return;
    }

    fuzz_assert(b->len >= EPRO_ARRAY_HEAD);
    fuzz_assert(fuzz_get32(b->data) == 1);
    fuzz_assert(fuzz_get32(b->data + 12) == n);
    fuzz_assert(fuzz_get32(b->data + 16) == 1);

    p = b->data + EPRO_ARRAY_HEAD;
    end = b->data + b->len;
    nulls = 0;

    for (i = 0; i < n; i++) {
        fuzz_assert(end - p >= 4);
        len = fuzz_get32(p);
        p += 4;

        if (want[i].data == NULL) {
            fuzz_assert(len == 0xffffffff);
            nulls++;
            continue;
        }

        if (oid == EPRO_OID_JSONB) {
            fuzz_assert(len >= 1 && p < end && *p == 1);
            p++;
            len--;
        }

        fuzz_assert(len == want[i].len && (size_t) (end - p) >= len);
        fuzz_assert(memcmp(p, want[i].data, len) == 0);
        fuzz_assert(memchr(p, '\0', len) == NULL);
        p += len;
    }

    fuzz_assert(p == end);
    fuzz_assert(fuzz_get32(b->data + 4) == (nulls ? 1 : 0));
}


static uint32_t
fuzz_get32(const char *p)
{
    return (uint32_t) (unsigned char) p[0] << 24
           | (uint32_t) (unsigned char) p[1] << 16
           | (uint32_t) (unsigned char) p[2] << 8
           | (uint32_t) (unsigned char) p[3];
}


static void
fuzz_check_problem(epro_request_t *req, epro_alloc_t *a)
{
    char            *path;
    size_t           i;
    epro_buf_t       b;
    const char      *type, *title;
    epro_node_t     *root, *v, *e, *ep, *em;
    epro_request_t   check;

    fuzz_assert(req->nerrors >= 1);

    if (req->status == EPRO_STATUS_BAD_JSON) {
        type = "urn:epro:problem:malformed-json";
        title = "Malformed JSON";

    } else {
        type = "urn:epro:problem:invalid-submission";
        title = "Invalid Submission";
    }

    memset(&b, 0, sizeof(epro_buf_t));

    fuzz_assert(epro_problem_json(&b, req->status, type, title,
                                  "nothing was stored", req, a)
                == EPRO_OK);
    fuzz_assert(b.data != NULL && strlen(b.data) == b.len);

    /* strict RFC 8259, valid UTF-8 */

    memset(&check, 0, sizeof(epro_request_t));
    fuzz_assert(epro_json_check(b.data, b.len, &check, a)
                == EPRO_OK);

    root = epro_tree_parse(b.data, b.len, a);
    fuzz_assert(fuzz_is(root, EPRO_NODE_OBJECT));

    v = epro_node_member(root, "type");
    fuzz_assert(fuzz_is(v, EPRO_NODE_STRING)
                && strcmp(epro_node_string(v), type) == 0);
    v = epro_node_member(root, "status");
    fuzz_assert(fuzz_is(v, EPRO_NODE_NUMBER)
                && epro_node_number(v) == req->status);

    v = epro_node_member(root, "errors");
    fuzz_assert(fuzz_is(v, EPRO_NODE_ARRAY));
    fuzz_assert(epro_node_count(v) == req->nerrors);

    i = 0;

    for (e = epro_node_child(v); e; e = epro_node_next(e)) {
        fuzz_assert(fuzz_is(e, EPRO_NODE_OBJECT));
        ep = epro_node_member(e, "path");
        em = epro_node_member(e, "message");
        fuzz_assert(fuzz_is(ep, EPRO_NODE_STRING)
                    && fuzz_is(em, EPRO_NODE_STRING));

        /* a JSON Pointer, the same one if it was valid UTF-8 */
        path = req->errors[i].path;
        fuzz_assert(path[0] == '\0' || path[0] == '/');

        if (fuzz_utf8_valid(path, strlen(path))) {
            fuzz_assert(strcmp(epro_node_string(ep), path) == 0);
        }

        if (fuzz_utf8_valid(req->errors[i].message,
                            strlen(req->errors[i].message)))
        {
            fuzz_assert(strcmp(epro_node_string(em), req->errors[i].message)
                        == 0);
        }

        i++;
    }

    v = epro_node_member(root, "truncated");
    fuzz_assert(req->truncated ? fuzz_is(v, EPRO_NODE_TRUE) : v == NULL);
}


static int
fuzz_is(const epro_node_t *n, epro_node_type_e type)
{
    return n != NULL && epro_node_type(n) == type;
}


static int
fuzz_field(const epro_str_t *s, int optional)
{
    size_t  chars;

    if (s->data == NULL) {
        return optional && s->len == 0;
    }

    chars = epro_utf8_chars(s->data, s->len);

    return chars >= 1 && chars <= EPRO_MAX_FIELD_CHARS
           && memchr(s->data, '\0', s->len) == NULL;
}


/* RFC 3629, no surrogates, no overlong forms */

static int
fuzz_utf8_valid(const char *s, size_t len)
{
    size_t               i, k, n;
    uint32_t             c, min;
    const unsigned char *p;

    p = (const unsigned char *) s;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            n = 2; c = p[i] & 0x1f; min = 0x80;

        } else if ((p[i] & 0xf0) == 0xe0) {
            n = 3; c = p[i] & 0x0f; min = 0x800;

        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            n = 4; c = p[i] & 0x07; min = 0x10000;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (p[i + k] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


static void *
fuzz_heap_alloc(void *ctx, size_t size)
{
    (void) ctx;

    return malloc(size);
}


static void
fuzz_heap_free(void *ctx, void *p)
{
    (void) ctx;

    free(p);
}
