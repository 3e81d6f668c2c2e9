
/*
 * Unit tests for the plain-C core of the ePRO module (src/core/epro_*.c).
 *
 * Build and run from this directory (the Makefile beside this file does
 * the same with "make test"; "make asan" adds ASan and UBSan):
 *
 *   cc -std=c99 -Wall -Wextra -Werror -g -I../../src/core \
 *       ../../src/core/epro_json.c ../../src/core/epro_parse.c \
 *       ../../src/core/epro_encode.c ../../src/core/epro_instr.c \
 *       ../../src/core/epro_tree.c harness.c test_core.c -lm \
 *       -o test_core
 *   ./test_core
 *
 * Every allocation of the code under test goes through an arena that
 * mirrors nginx's request pool (harness.c): it bumps through malloc'd
 * chunks, its free is a no-op, new memory is filled with garbage (a pool
 * does not zero) and the whole arena is released after each test case.
 * Built with -DARENA_EXACT (the asan target does), every allocation gets
 * a chunk of exactly its own size, so that ASan sees any overrun.
 *
 * Each check counts once (a long property loop counts as one).  A failure
 * prints "file:line: ..." (for a table row, the line of that row); the
 * last line is "N passed, M failed" and the exit status is 1 if anything
 * failed.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epro_core.h"
#include "epro_tree.h"
#include "harness.h"


/* the request pool of the code under test, and test_alloc()'s */

static arena_t       arena = ARENA_INIT;
static epro_alloc_t  alloc = { arena_alloc, arena_free, &arena };


/* ------------------------------------------------------------------ */
/* submissions                                                         */


#define M(key, value)   "\"" key "\":" value

#define UUID_A          "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define UUID_A_UPPER    "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"
#define UUID_B          "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"


/* the members of a valid submission, in order; NULL: absent */

static const char *const  sub_members[][2] = {
    { "submissionId", NULL },
    { "studyId", M("studyId", "\"STUDY-1\"") },
    { "siteId", NULL },
    { "subjectId", M("subjectId", "\"P-0001\"") },
    { "visitName", M("visitName", "\"Week 4\"") },
    { "instrument", M("instrument", "\"PHQ-9\"") },
    { "collectedAt", M("collectedAt", "\"2026-01-31T08:00:00+01:00\"") },
    { "answers", M("answers", "{\"q1\":3,\"q2\":\"yes\"}") },
};


/*
 * One submission object.  The default member named key is replaced by
 * member (omitted if member is NULL); key "+" appends member instead.
 */

static void
sb_sub(sb_t *b, const char *key, const char *member)
{
    size_t       i;
    int          first;
    const char  *m;

    first = 1;
    sb_add(b, "{");

    for (i = 0; i < NELTS(sub_members); i++) {
        m = sub_members[i][1];

        if (key && strcmp(key, sub_members[i][0]) == 0) {
            m = member;
        }

        if (m == NULL) {
            continue;
        }

        if (!first) {
            sb_add(b, ",");
        }

        sb_add(b, m);
        first = 0;
    }

    if (key && strcmp(key, "+") == 0 && member) {
        sb_add(b, first ? "" : ",");
        sb_add(b, member);
    }

    sb_add(b, "}");
}


static char *
make_sub(const char *key, const char *member)
{
    sb_t  b = { NULL, 0, 0 };

    sb_sub(&b, key, member);

    return b.data;
}


static int
parse(epro_request_t *req, const char *body, size_t len, size_t max)
{
    char  *copy;

    /* a pool gives garbage, not zeroes */
    memset(req, 0x5a, sizeof(epro_request_t));
    req->max_submissions = max;
    req->instruments = NULL;
    req->policy = EPRO_POLICY_OFF;
    req->now_ms = 0;
    req->skew_ms = -1;
    req->max_age_ms = -1;

    /* the body as nginx has it: no NUL after it */
    copy = exact_copy(body, len);

    return epro_parse(req, copy, len, &alloc);
}


static const char *
first_path(const epro_request_t *req)
{
    return req->nerrors ? req->errors[0].path : "(no error)";
}


/*
 * The common check of a parse result: status, nerrors (if want_n is not
 * (size_t) -1) and the first error's path (if path is not NULL).
 */

#define ANY_N  ((size_t) -1)

static int
check_parse(const char *file, int line, const epro_request_t *req, int rc,
    int status, size_t want_n, const char *path)
{
    int  ok;

    ok = check_int(file, line, "epro_parse() return", rc,
                   status == EPRO_OK ? EPRO_OK : EPRO_ERROR);
    ok &= check_int(file, line, "req.status", req->status, status);

    if (status == EPRO_OK) {
        ok &= check_int(file, line, "req.nerrors", req->nerrors, 0);

    } else if (want_n == ANY_N) {
        ok &= check(file, line, req->nerrors >= 1,
                    "req.nerrors: got %lu, want at least 1",
                    (unsigned long) req->nerrors);

    } else {
        ok &= check_int(file, line, "req.nerrors", req->nerrors, want_n);
    }

    if (path) {
        ok &= check_str(file, line, "errors[0].path", first_path(req), path);
    }

    if (!ok) {
        dump_errors(req);
    }

    return ok;
}


/* ------------------------------------------------------------------ */
/* strict JSON                                                         */


#define OK   EPRO_OK
#define BAD  EPRO_STATUS_BAD_JSON
#define INV  EPRO_STATUS_INVALID
#define NOE  (-2)               /* not tried as an answer's value */


typedef struct {
    int          line;
    const char  *body;
    size_t       len;
    int          status;        /* of epro_json_check() on the body */
    int          answer;        /* of epro_parse() with it as answer q */
} json_case_t;


/* JC: the body alone; JA: also as the value of answers.q in a submission */
#define JC(b, st)       { __LINE__, b, sizeof(b) - 1, st, NOE }
#define JA(b, st, an)   { __LINE__, b, sizeof(b) - 1, st, an }

#define NUM64   "1234567890123456789012345678901234567890" \
                "123456789012345678901234"
#define NUM65   NUM64 "5"


static const json_case_t  json_cases[] = {

    /* accepted */
    JC("{}", OK),
    JC("[]", OK),
    JC("{\"a\" : [ true , null ] , \"b\":{}}", OK),
    JC("[[[]],{},[{}]]", OK),
    JC(" \t\r\n{} \n\t\r", OK),
    JC("\n[1]\n", OK),
    JA("0", OK, OK),
    JA("-0", OK, OK),
    JA("1E+2", OK, OK),
    JA("1e-2", OK, OK),
    JA("1E2", OK, OK),
    JA("-12.5e10", OK, OK),
    JA("0.5", OK, OK),
    JA("-0.0e-0", OK, OK),
    JA("1e308", OK, OK),
    JA("1E+308", OK, OK),
    JA("1e0308", OK, OK),
    JA("1.7976931348623157e308", OK, OK),
    JA("-1.7976931348623157E+308", OK, OK),
    JA("0.00001e308", OK, OK),
    JA("1e-308", OK, OK),
    JA("123456789e244", OK, OK),
    JA("1234567890123456789012345678901234567890123456789012345e253",
       OK, OK),
    JA(NUM64, OK, OK),
    JA("-0.1234567890123456789012345678901234567890123456789012345678901",
       OK, OK),
    JA("true", OK, OK),
    JA("false", OK, OK),
    JA("null", OK, OK),
    JA("\"\"", OK, OK),
    JA("\"\\uD83D\\uDE00\"", OK, OK),
    JA("\"\\ud83d\\ude00\"", OK, OK),
    JA("\"\xF0\x9F\x98\x80\"", OK, OK),
    JA("\"\xC3\xA9\xE2\x82\xAC\"", OK, OK),
    JA("\"\xF4\x8F\xBF\xBF\xEF\xBF\xBF\xDF\xBF\"", OK, OK),
    JA("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", OK, OK),
    JA("\"\\u00e9\\u20AC\\u0001\\uFFFF\"", OK, OK),
    JA("\"\x7f\"", OK, OK),
    JA("[1, \"a\", true, null ,-2.5]", OK, OK),
    JA(" \t\r\n0 \t\r\n", OK, OK),

    /* syntax: 400 */
    JC("", BAD),
    JC(" \t\r\n", BAD),
    JA("-01", BAD, BAD),
    JA("01", BAD, BAD),
    JA("00", BAD, BAD),
    JA("-", BAD, BAD),
    JA("2.", BAD, BAD),
    JA("0.e1", BAD, BAD),
    JA(".5", BAD, BAD),
    JA("+1", BAD, BAD),
    JA("1e", BAD, BAD),
    JA("1e+", BAD, BAD),
    JA("1.5e-", BAD, BAD),
    JA("1.2.3", BAD, BAD),
    JA("0x10", BAD, BAD),
    JA("NaN", BAD, BAD),
    JA("Infinity", BAD, BAD),
    JA("-Infinity", BAD, BAD),
    JA("\"a\tb\"", BAD, BAD),
    JA("\"a\nb\"", BAD, BAD),
    JA("\"\x01\"", BAD, BAD),
    JA("\"\x1f\"", BAD, BAD),
    JA("\"a\0b\"", BAD, BAD),
    JA("\"\\x41\"", BAD, BAD),
    JA("\"\\'\"", BAD, BAD),
    JA("\"\\U0041\"", BAD, BAD),
    JA("\"\\ \"", BAD, BAD),
    JA("\"\\u12\"", BAD, BAD),
    JA("\"\\u12G4\"", BAD, BAD),
    JA("\"\\u\"", BAD, BAD),
    JA("\"\\uD83D\\uDE0\"", BAD, BAD),
    JC("\"abc", BAD),
    JC("\"abc\\", BAD),
    JC("\"\\u00", BAD),
    JC("{} x", BAD),
    JC("{}{}", BAD),
    JC("1 2", BAD),
    JC("{}\0", BAD),
    JC("[]]", BAD),
    JC("{}}", BAD),
    JA("[1,]", BAD, BAD),
    JA("[,1]", BAD, BAD),
    JA("[1 2]", BAD, BAD),
    JC("[", BAD),
    JC("{", BAD),
    JC("{\"a\":1,}", BAD),
    JC("{a:1}", BAD),
    JC("{'a':1}", BAD),
    JC("{\"a\" 1}", BAD),
    JC("{1:2}", BAD),
    JC("{\"a\":}", BAD),
    JC("{\"a\":1 \"b\":2}", BAD),
    JA("tru", BAD, BAD),
    JA("nul", BAD, BAD),
    JA("True", BAD, BAD),
    JA("nulL", BAD, BAD),
    JA("falsy", BAD, BAD),
    JA("'a'", BAD, BAD),
    JC("\f{}", BAD),
    JC("{}\v", BAD),
    JC("\xC2\xA0{}", BAD),
    JC("/* c */ {}", BAD),
    JC("{\"a\":1 // c\n}", BAD),
    JC("[\"\xFF\", 01]", BAD),          /* a syntax error wins */
    JC("[\"\\u0000\",", BAD),

    /* content: 422 */
    JA("\"\xC3\"", INV, INV),
    JA("\"\xC3" "a\"", INV, INV),
    JA("\"\xC0\xAF\"", INV, INV),
    JA("\"\xC1\xBF\"", INV, INV),
    JA("\"\xE0\x80\xAF\"", INV, INV),
    JA("\"\xED\xA0\x80\"", INV, INV),
    JA("\"\xED\xBF\xBF\"", INV, INV),
    JA("\"\xF0\x8F\xBF\xBF\"", INV, INV),
    JA("\"\xF4\x90\x80\x80\"", INV, INV),
    JA("\"\xF5\x80\x80\x80\"", INV, INV),
    JA("\"\x80\"", INV, INV),
    JA("\"\xBF\"", INV, INV),
    JA("\"\xFE\"", INV, INV),
    JA("\"\xFF\"", INV, INV),
    JA("\"\xE2\x82\"", INV, INV),
    JA("\"\xF0\x9F\x98\"", INV, INV),
    JA("\"a\xE2\x82\xAC" "b\xFE\"", INV, INV),
    JA("\"\\u0000\"", INV, INV),
    JA("\"a\\u0000b\"", INV, INV),
    JA("\"\\uD800\"", INV, INV),
    JA("\"\\uDBFF\"", INV, INV),
    JA("\"\\uDC00\"", INV, INV),
    JA("\"\\uDFFF\"", INV, INV),
    JA("\"\\uD800\\u0041\"", INV, INV),
    JA("\"\\uD800x\"", INV, INV),
    JA("\"\\uDE00\\uD83D\"", INV, INV),
    JA("\"\\uD83D\\n\"", INV, INV),
    JA(NUM65, INV, INV),
    JA("-" NUM64, INV, INV),
    JA("1e309", INV, INV),
    JA("10e308", INV, INV),
    JA("1.8e308", INV, INV),
    JA("-1.8E+308", INV, INV),
    JA("1234567890e300", INV, INV),
    JA("1234567890123456789012345678901234567890123456789012345e255",
       INV, INV),
    JA("1E+309", INV, INV),
    JA("-1.5e400", INV, INV),
    JA("1e99999999999999999999", INV, INV),
    JC("{\"\xFF\":1}", INV),
    JC("[\"ok\",\"\xC3\"]", INV),
};


static void
test_json_case(const json_case_t *c)
{
    int              rc;
    sb_t             b = { NULL, 0, 0 };
    size_t           lead, trail, len;
    const char      *path, *text, *at;
    epro_node_t     *root;
    epro_request_t   req;

    memset(&req, 0, sizeof(req));

    rc = epro_json_check(exact_copy(c->body, c->len), c->len, &req, &alloc);

    if (!check_int(__FILE__, c->line, "epro_json_check()",
                   outcome(rc, &req), c->status)) {
        dump_errors(&req);
    }

    /* the tree refuses exactly what the strict check refuses */

    text = exact_copy(c->body, c->len);
    root = epro_tree_parse(text, c->len, &alloc);

    check(__FILE__, c->line, (root != NULL) == (c->status == EPRO_OK),
          "epro_tree_parse() %s what epro_json_check() %s",
          c->status == EPRO_OK ? "refuses" : "accepts",
          c->status == EPRO_OK ? "accepts" : "refuses");

    if (c->status != EPRO_OK) {
        check_int(__FILE__, c->line, "req.status", req.status, c->status);
        check(__FILE__, c->line, req.nerrors >= 1,
              "want at least one error, got %lu",
              (unsigned long) req.nerrors);

    } else if (root != NULL) {
        /* the root's span: the value without the blanks around it */

        lead = strspn(c->body, " \t\r\n");
        for (trail = 0; trail < c->len - lead; trail++) {
            if (strchr(" \t\r\n", c->body[c->len - 1 - trail]) == NULL) {
                break;
            }
        }

        at = epro_node_span(root, &len);
        check(__FILE__, c->line, at == text + lead,
              "the root's span starts at byte %ld", (long) (at - text));
        check_mem(__FILE__, c->line, "the root's span", at, len,
                  c->body + lead, c->len - lead - trail);
    }

    if (c->answer == NOE) {
        return;
    }

    /* the same text as the value of an answer, through epro_parse() */

    sb_add(&b, "{" M("studyId", "\"S\"") "," M("subjectId", "\"P\"") ","
               M("visitName", "\"V\"") "," M("instrument", "\"I\"") ","
               M("collectedAt", "0") "," "\"answers\":{\"q\":");
    sb_addn(&b, c->body, c->len);
    sb_add(&b, "}}");

    rc = parse(&req, b.data, b.len, 10);

    check_parse(__FILE__, c->line, &req, rc, c->answer, ANY_N, NULL);

    if (c->answer != EPRO_OK) {
        /* at the value, or inside it when it is an array */
        path = first_path(&req);

        check(__FILE__, c->line, strncmp(path, "/answers/q", 10) == 0
                                 && (path[10] == '\0' || path[10] == '/'),
              "errors[0].path: got \"%s\", want \"/answers/q\" or below",
              path);
    }
}


/* nesting: EPRO_MAX_DEPTH levels are fine, one more is a 400 */

static void
test_json_depth(void)
{
    int             rc;
    sb_t            b;
    size_t          depth;
    epro_request_t  req;

    for (depth = EPRO_MAX_DEPTH - 1; depth <= EPRO_MAX_DEPTH + 2; depth++) {

        /* arrays */
        memset(&b, 0, sizeof(b));
        sb_rep(&b, "[", depth);
        sb_rep(&b, "]", depth);

        memset(&req, 0, sizeof(req));
        rc = epro_json_check(b.data, b.len, &req, &alloc);
        CHECK_INT("arrays nested this deep", outcome(rc, &req),
                  depth <= EPRO_MAX_DEPTH ? EPRO_OK : EPRO_STATUS_BAD_JSON);
        CHECK_INT("arrays nested this deep: the tree",
                  epro_tree_parse(b.data, b.len, &alloc) != NULL,
                  depth <= EPRO_MAX_DEPTH);

        /* objects, with a scalar at the bottom */
        memset(&b, 0, sizeof(b));
        sb_rep(&b, "{\"a\":", depth);
        sb_add(&b, "1");
        sb_rep(&b, "}", depth);

        memset(&req, 0, sizeof(req));
        rc = epro_json_check(b.data, b.len, &req, &alloc);
        CHECK_INT("objects nested this deep", outcome(rc, &req),
                  depth <= EPRO_MAX_DEPTH ? EPRO_OK : EPRO_STATUS_BAD_JSON);
        CHECK_INT("objects nested this deep: the tree",
                  epro_tree_parse(b.data, b.len, &alloc) != NULL,
                  depth <= EPRO_MAX_DEPTH);

        /* mixed, and unterminated: still a 400 either way */
        memset(&b, 0, sizeof(b));
        sb_rep(&b, "[{\"k\":", depth / 2);
        sb_rep(&b, "[", depth % 2);

        memset(&req, 0, sizeof(req));
        rc = epro_json_check(b.data, b.len, &req, &alloc);
        CHECK_INT("unterminated nesting", outcome(rc, &req),
                  EPRO_STATUS_BAD_JSON);

        arena_release(&arena);
    }

    /* through epro_parse(): too deep is a 400, not a contract error */
    memset(&b, 0, sizeof(b));
    sb_add(&b, "{\"answers\":{\"q\":");
    sb_rep(&b, "[", EPRO_MAX_DEPTH - 1);
    sb_rep(&b, "]", EPRO_MAX_DEPTH - 1);
    sb_add(&b, "}}");

    rc = parse(&req, b.data, b.len, 10);
    check_parse(AT, &req, rc, EPRO_STATUS_BAD_JSON, 1, NULL);

    arena_release(&arena);
}


/*
 * Every byte value at every position of a string long enough for the
 * scan's eight-at-a-time path, and a UTF-8 pair straddling its words:
 * the outcome is the byte's, wherever it falls.
 */

static void
test_json_string_bytes(void)
{
    int             rc, want;
    char            body[32];
    size_t          k, b, n;
    epro_request_t  req;

    for (k = 0; k < 18; k++) {
        for (b = 0; b < 0x101; b++) {
            memset(body, 'a', sizeof(body));
            body[0] = '[';
            body[1] = '"';
            body[20] = '"';
            body[21] = ']';
            n = 22;

            if (b == 0x100) {
                /* U+00E9, its second byte maybe in the next word */
                memmove(body + 3 + k, body + 2 + k, n - 2 - k);
                body[2 + k] = (char) 0xc3;
                body[3 + k] = (char) 0xa9;
                n++;
                want = EPRO_OK;

            } else {
                body[2 + k] = (char) b;
                want = (b < 0x20 || b == '"' || b == '\\')
                       ? EPRO_STATUS_BAD_JSON
                       : (b >= 0x80) ? EPRO_STATUS_INVALID : EPRO_OK;
            }

            memset(&req, 0, sizeof(req));
            rc = epro_json_check(exact_copy(body, n), n, &req, &alloc);

            if (!check_int(AT, "byte in a string", outcome(rc, &req), want)) {
                fprintf(stderr, "    byte 0x%02x at %lu\n", (unsigned) b,
                        (unsigned long) k);
            }
        }

        arena_release(&arena);
    }
}


/* byte spans of the elements of a top-level array, in the tree */

static void
test_tree_array_spans(void)
{
    size_t         i, len;
    const char    *at;
    epro_node_t   *root, *n;

    static const char  body[] =
        " [ {\"a\":1} ,\n\t\"x\\\"]\" , [1,[2,{}]] ,null,-0.5e3 ] ";

    static const char *const  want[] = {
        "{\"a\":1}", "\"x\\\"]\"", "[1,[2,{}]]", "null", "-0.5e3"
    };

    root = epro_tree_parse(body, sizeof(body) - 1, &alloc);
    CHECK(root != NULL && epro_node_type(root) == EPRO_NODE_ARRAY);

    if (root == NULL) {
        return;
    }

    CHECK_INT("elements", epro_node_count(root), NELTS(want));

    for (i = 0, n = epro_node_child(root); i < NELTS(want) && n;
         i++, n = epro_node_next(n))
    {
        at = epro_node_span(n, &len);
        check_mem(AT, want[i], at, len, want[i], strlen(want[i]));
        CHECK(epro_node_end(n) == at + len);
    }

    /* an empty array */

    root = epro_tree_parse(" [ ] ", 5, &alloc);
    CHECK(root != NULL && epro_node_count(root) == 0);

    if (root != NULL) {
        at = epro_node_span(root, &len);
        check_mem(AT, "[]", at, len, "[ ]", 3);
    }

    arena_release(&arena);
}


/* where an error is, as a JSON Pointer */

typedef struct {
    int          line;
    const char  *body;
    int          status;
    const char  *path;
} json_path_case_t;


#define JP(b, st, p)  { __LINE__, b, st, p }

static const json_path_case_t  json_path_cases[] = {
    JP("", BAD, ""),
    JP("01", BAD, ""),
    JP("\"\xFF\"", INV, ""),
    JP("[1,01]", BAD, "/1"),
    JP("{\"a\":{\"b\":[0,1,-]}}", BAD, "/a/b/2"),
    JP("{\"a\":{\"b\":[0,1,\"\\u0000\"]}}", INV, "/a/b/2"),
    JP("{\"a/b\":{\"m~n\":\"\\uDC00\"}}", INV, "/a~1b/m~0n"),
    JP("[\"ok\",\"\xFF\"]", INV, "/1"),
    JP("{\"x\":[[[\"\xC3\"]]]}", INV, "/x/0/0/0"),
    JP("{\"a\":1,\"b\":[true,1e400]}", INV, "/b/1"),
    /* a JSON Pointer holds the member name, not its escaped spelling */
    JP("{\"a\\u0062\":\"\\u0000\"}", INV, "/ab"),
    JP("{\"a\\/b\":[01]}", BAD, "/a~1b/0"),
};


static void
test_json_paths(void)
{
    int             rc;
    size_t          i;
    epro_request_t  req;

    const json_path_case_t  *c;

    for (i = 0; i < NELTS(json_path_cases); i++) {
        c = &json_path_cases[i];

        memset(&req, 0, sizeof(req));
        rc = epro_json_check(c->body, strlen(c->body), &req, &alloc);

        check_int(__FILE__, c->line, "epro_json_check()",
                  outcome(rc, &req), c->status);
        check_str(__FILE__, c->line, "errors[0].path", first_path(&req),
                  c->path);

        arena_release(&arena);
    }
}


/* ------------------------------------------------------------------ */
/* the contract                                                        */


typedef struct {
    int          line;
    const char  *key;           /* member to replace; "+": append */
    const char  *member;        /* NULL: leave the member out */
    int          status;
    size_t       nerrors;
    const char  *path;          /* of the first error */
} contract_case_t;


#define CC(k, m, st, n, p)  { __LINE__, k, m, st, n, p }


static const contract_case_t  contract_cases[] = {

    /* the default submission itself */
    CC(NULL, NULL, OK, 0, NULL),

    /* each required member missing, optional ones missing */
    CC("studyId", NULL, INV, 1, "/studyId"),
    CC("subjectId", NULL, INV, 1, "/subjectId"),
    CC("visitName", NULL, INV, 1, "/visitName"),
    CC("instrument", NULL, INV, 1, "/instrument"),
    CC("collectedAt", NULL, INV, 1, "/collectedAt"),
    CC("answers", NULL, INV, 1, "/answers"),
    CC("siteId", NULL, OK, 0, NULL),
    CC("submissionId", NULL, OK, 0, NULL),

    /* unknown and duplicate members */
    CC("+", M("extra", "1"), INV, 1, "/extra"),
    CC("+", M("StudyId", "\"S\""), INV, 1, "/StudyId"),
    CC("+", M("a/b~c", "null"), INV, 1, "/a~1b~0c"),
    CC("+", M("", "1"), INV, 1, "/"),
    CC("+", M("studyId", "\"STUDY-2\""), INV, 1, "/studyId"),
    CC("+", M("answers", "{\"q9\":1}"), INV, 1, "/answers"),
    CC("+", M("collectedAt", "0"), INV, 1, "/collectedAt"),
    CC("+", M("siteId", "\"A\"") "," M("siteId", "\"A\""), INV, 1,
       "/siteId"),
    CC("+", M("submissionId", "\"" UUID_A "\"") ","
            M("submissionId", "\"" UUID_A "\""), INV, 1, "/submissionId"),
    /* member names are compared after unescaping */
    CC("+", M("study\\u0049d", "\"X\""), INV, 1, "/studyId"),

    /* collectedAt of the wrong type */
    CC("collectedAt", M("collectedAt", "null"), INV, 1, "/collectedAt"),
    CC("collectedAt", M("collectedAt", "true"), INV, 1, "/collectedAt"),
    CC("collectedAt", M("collectedAt", "{}"), INV, 1, "/collectedAt"),
    CC("collectedAt", M("collectedAt", "[0]"), INV, 1, "/collectedAt"),
    CC("collectedAt", M("collectedAt", "\"\""), INV, 1, "/collectedAt"),

    /* answers */
    CC("answers", M("answers", "{}"), INV, 1, "/answers"),
    CC("answers", M("answers", "[]"), INV, 1, "/answers"),
    CC("answers", M("answers", "[{\"q1\":1}]"), INV, 1, "/answers"),
    CC("answers", M("answers", "\"q1\""), INV, 1, "/answers"),
    CC("answers", M("answers", "null"), INV, 1, "/answers"),
    CC("answers", M("answers", "1"), INV, 1, "/answers"),
    CC("answers", M("answers", "{\"q1\":1,\"q2\":-2.5e3,\"q3\":\"t\","
                               "\"q4\":true,\"q5\":false,\"q6\":null,"
                               "\"q7\":[1,\"a\",true,null,false,0.5]}"),
       OK, 0, NULL),
    CC("answers", M("answers", "{\"q1\":1,\"Q1\":2}"), OK, 0, NULL),
    CC("answers", M("answers", "{\"q1\":1,\"q1\":2}"), INV, 1,
       "/answers/q1"),
    CC("answers", M("answers", "{\"q1\":1,\"q\\u0031\":1}"), INV, 1,
       "/answers/q1"),
    CC("answers", M("answers", "{\"a\":1,\"b\":2,\"a\":3}"), INV, 1,
       "/answers/a"),
    CC("answers", M("answers", "{\"q1\":{\"a\":1}}"), INV, 1,
       "/answers/q1"),
    CC("answers", M("answers", "{\"q1\":{}}"), INV, 1, "/answers/q1"),
    CC("answers", M("answers", "{\"q1\":[1,{\"a\":1}]}"), INV, 1,
       "/answers/q1"),
    CC("answers", M("answers", "{\"q1\":[1,[2]]}"), INV, 1, "/answers/q1"),
    CC("answers", M("answers", "{\"a/b\":1,\"a/b\":2}"), INV, 1,
       "/answers/a~1b"),
    CC("answers", M("answers", "{\"m~n\":{}}"), INV, 1, "/answers/m~0n"),
    CC("answers", M("answers", "{\"\":1}"), INV, 1, "/answers/"),
    CC("answers", M("answers", "{\"ok\":1,\"bad\":{},\"worse\":[[]]}"),
       INV, 2, "/answers/bad"),

    /* several faults, all reported */
    CC("studyId", M("studyId", "7") "," M("zzz", "1"), INV, 2,
       "/studyId"),

    /* invalid strings inside the submission: 422, with the path */
    CC("studyId", M("studyId", "\"S\xFF\""), INV, 1, "/studyId"),
    CC("subjectId", M("subjectId", "\"P\\u0000\""), INV, 1, "/subjectId"),
    CC("answers", M("answers", "{\"q1\":\"\\uD800\"}"), INV, 1,
       "/answers/q1"),
    CC("answers", M("answers", "{\"q1\":1e999}"), INV, 1, "/answers/q1"),

    /* broken JSON inside the submission: 400 */
    CC("answers", M("answers", "{\"q1\":01}"), BAD, 1, "/answers/q1"),
    CC("visitName", M("visitName", "\"a\tb\""), BAD, 1, "/visitName"),
};


static void
test_contract_case(const contract_case_t *c)
{
    int              rc;
    char            *body;
    epro_request_t   req;

    body = make_sub(c->key, c->member);

    rc = parse(&req, body, strlen(body), 10);

    if (!check_parse(__FILE__, c->line, &req, rc, c->status, c->nerrors,
                     c->path))
    {
        printf("    body: %s\n", body);
    }

    if (rc == EPRO_OK && c->status == EPRO_OK) {
        check_int(__FILE__, c->line, "nsubs", req.nsubs, 1);
    }
}


/* a valid submission, every output field */

static void
test_contract_fields(void)
{
    int                 rc;
    char               *body;
    epro_request_t      req;
    epro_submission_t  *s;

    body = make_sub("+", M("siteId", "\"SITE \\\"7\\\"\"") ","
                         M("submissionId", "\"" UUID_A_UPPER "\""));

    rc = parse(&req, body, strlen(body), 10);
    check_parse(AT, &req, rc, EPRO_OK, 0, NULL);

    if (rc != EPRO_OK || req.nsubs != 1) {
        CHECK_INT("nsubs", req.nsubs, 1);
        arena_release(&arena);
        return;
    }

    s = &req.subs[0];

    CHECK_STR("id (normalized)", s->id, UUID_A);
    check_mem(AT, "study", s->study.data, s->study.len, "STUDY-1", 7);
    check_mem(AT, "site", s->site.data, s->site.len, "SITE \"7\"", 8);
    check_mem(AT, "subject", s->subject.data, s->subject.len, "P-0001", 6);
    check_mem(AT, "visit", s->visit.data, s->visit.len, "Week 4", 6);
    check_mem(AT, "instrument", s->instrument.data, s->instrument.len,
              "PHQ-9", 5);
    CHECK_STR("collected", s->collected, "2026-01-31T08:00:00+01:00");
    check_mem(AT, "payload", s->payload.data, s->payload.len, body,
              strlen(body));

    /* no siteId, no submissionId; blanks around the object */

    arena_release(&arena);

    {
        sb_t  b = { NULL, 0, 0 };

        sb_add(&b, " \r\n\t");
        sb_sub(&b, NULL, NULL);
        sb_add(&b, "\n \t");

        rc = parse(&req, b.data, b.len, 1);
        check_parse(AT, &req, rc, EPRO_OK, 0, NULL);

        if (rc == EPRO_OK && req.nsubs == 1) {
            s = &req.subs[0];
            CHECK_STR("id when absent", s->id, "");
            CHECK(s->site.data == NULL);
            check_mem(AT, "payload without blanks", s->payload.data,
                      s->payload.len, b.data + 4, b.len - 7);
        }
    }

    arena_release(&arena);
}


/* the string members: type, length in characters */

static const char *const  string_fields[] = {
    "studyId", "siteId", "subjectId", "visitName", "instrument"
};


static epro_str_t *
sub_field(epro_submission_t *s, const char *name)
{
    if (strcmp(name, "studyId") == 0) {
        return &s->study;
    }

    if (strcmp(name, "siteId") == 0) {
        return &s->site;
    }

    if (strcmp(name, "subjectId") == 0) {
        return &s->subject;
    }

    if (strcmp(name, "visitName") == 0) {
        return &s->visit;
    }

    return &s->instrument;
}


typedef struct {
    int          line;
    const char  *unit;          /* JSON string content, repeated */
    size_t       count;
    const char  *tail;          /* appended once, or NULL */
    int          ok;
    const char  *decoded;       /* unit as stored, if ok */
} string_case_t;


#define SC(u, n, t, ok, d)  { __LINE__, u, n, t, ok, d }

#define EMOJI  "\xF0\x9F\x98\x80"


static const string_case_t  string_cases[] = {
    SC("x", 1, NULL, 1, "x"),
    SC("", 0, NULL, 0, NULL),
    SC("a", 64, NULL, 1, "a"),
    SC("a", 65, NULL, 0, NULL),
    SC("a", 63, "\xC3\xA9", 1, "a"),              /* 65 bytes, 64 chars */
    SC("\xC3\xA9", 64, NULL, 1, "\xC3\xA9"),       /* 128 bytes */
    SC("\xC3\xA9", 65, NULL, 0, NULL),
    SC("\xE2\x82\xAC", 64, NULL, 1, "\xE2\x82\xAC"),
    SC("\xE2\x82\xAC", 65, NULL, 0, NULL),
    SC(EMOJI, 64, NULL, 1, EMOJI),
    SC(EMOJI, 65, NULL, 0, NULL),
    SC("\\u00e9", 64, NULL, 1, "\xC3\xA9"),
    SC("\\u00e9", 65, NULL, 0, NULL),
    SC("\\uD83D\\uDE00", 64, NULL, 1, EMOJI),
    SC("\\\"", 64, NULL, 1, "\""),
    SC("\\\\", 65, NULL, 0, NULL),
};


typedef struct {
    int          line;
    const char  *value;         /* JSON text */
} type_case_t;


#define TY(v)  { __LINE__, v }

static const type_case_t  wrong_types[] = {
    TY("7"), TY("0"), TY("null"), TY("true"), TY("false"), TY("[\"a\"]"),
    TY("[]"), TY("{}"), TY("{\"a\":\"b\"}"),
};


static void
test_contract_strings(void)
{
    int                  rc;
    sb_t                 b, m, want;
    char                 path[80];
    size_t               f, i, k;
    epro_str_t          *str;
    epro_request_t       req;
    const type_case_t   *t;
    const string_case_t *c;

    for (f = 0; f < NELTS(string_fields); f++) {
        snprintf(path, sizeof(path), "/%s", string_fields[f]);

        for (i = 0; i < NELTS(string_cases); i++) {
            c = &string_cases[i];

            memset(&m, 0, sizeof(m));
            memset(&b, 0, sizeof(b));
            memset(&want, 0, sizeof(want));

            sb_addf(&m, "\"%s\":\"", string_fields[f]);
            sb_rep(&m, c->unit, c->count);

            if (c->tail) {
                sb_add(&m, c->tail);
            }

            sb_add(&m, "\"");

            sb_sub(&b, string_fields[f], m.data);

            rc = parse(&req, b.data, b.len, 10);

            if (!check_parse(__FILE__, c->line, &req, rc,
                             c->ok ? EPRO_OK : EPRO_STATUS_INVALID,
                             c->ok ? 0 : 1,
                             c->ok ? NULL : path))
            {
                printf("    member %s\n", string_fields[f]);
            }

            if (c->ok && rc == EPRO_OK && req.nsubs == 1) {
                for (k = 0; k < c->count; k++) {
                    sb_add(&want, c->decoded);
                }

                if (c->tail) {
                    sb_add(&want, c->tail);
                }

                str = sub_field(&req.subs[0], string_fields[f]);
                check_mem(__FILE__, c->line, string_fields[f], str->data,
                          str->len, want.data, want.len);
            }

            arena_release(&arena);
        }

        for (i = 0; i < NELTS(wrong_types); i++) {
            t = &wrong_types[i];

            memset(&m, 0, sizeof(m));
            memset(&b, 0, sizeof(b));

            sb_addf(&m, "\"%s\":%s", string_fields[f], t->value);
            sb_sub(&b, string_fields[f], m.data);

            rc = parse(&req, b.data, b.len, 10);

            if (!check_parse(__FILE__, t->line, &req, rc,
                             EPRO_STATUS_INVALID, 1, path))
            {
                printf("    member %s\n", string_fields[f]);
            }

            arena_release(&arena);
        }
    }
}


/* submissionId */

typedef struct {
    int          line;
    const char  *value;         /* JSON text */
    const char  *id;            /* stored id, NULL: a 422 */
} id_case_t;


#define ID(v, id)  { __LINE__, v, id }

static const id_case_t  id_cases[] = {
    ID("\"" UUID_A "\"", UUID_A),
    ID("\"" UUID_A_UPPER "\"", UUID_A),
    ID("\"0190a1B2-C3d4-7E5F-8a9B-0C1D2E3F4A5B\"", UUID_A),
    ID("\"00000000-0000-0000-0000-000000000000\"",
       "00000000-0000-0000-0000-000000000000"),
    ID("\"ffffffff-ffff-ffff-ffff-ffffffffffff\"",
       "ffffffff-ffff-ffff-ffff-ffffffffffff"),
    ID("\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5\"", NULL),    /* 35 */
    ID("\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5bb\"", NULL),  /* 37 */
    ID("\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g\"", NULL),
    ID("\"0190a1b2c3d47e5f8a9b0c1d2e3f4a5b\"", NULL),
    ID("\"0190a1b2c-3d4-7e5f-8a9b-0c1d2e3f4a5b\"", NULL),
    ID("\"0190a1b2-c3d4-7e5f-8a9b_0c1d2e3f4a5b\"", NULL),
    ID("\"{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}\"", NULL),
    ID("\"urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"", NULL),
    ID("\" 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5\"", NULL),
    ID("\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5\xC3\xA9\"", NULL),
    ID("\"not-a-uuid\"", NULL),
    ID("\"\"", NULL),
    ID("7", NULL),
    ID("null", NULL),
    ID("[\"" UUID_A "\"]", NULL),
};


static void
test_contract_ids(void)
{
    int               rc;
    sb_t              m;
    char             *body;
    size_t            i;
    epro_request_t    req;
    const id_case_t  *c;

    for (i = 0; i < NELTS(id_cases); i++) {
        c = &id_cases[i];

        memset(&m, 0, sizeof(m));
        sb_addf(&m, "\"submissionId\":%s", c->value);
        body = make_sub("submissionId", m.data);

        rc = parse(&req, body, strlen(body), 10);

        check_parse(__FILE__, c->line, &req, rc,
                    c->id ? EPRO_OK : EPRO_STATUS_INVALID, c->id ? 0 : 1,
                    c->id ? NULL : "/submissionId");

        if (c->id && rc == EPRO_OK && req.nsubs == 1) {
            check_str(__FILE__, c->line, "id", req.subs[0].id, c->id);
        }

        arena_release(&arena);
    }
}


/* collectedAt */

typedef struct {
    int          line;
    const char  *value;         /* JSON text */
    const char  *stored;        /* collected, NULL: a 422 */
} time_case_t;


#define TM(v, s)  { __LINE__, v, s }
#define TS(s)     { __LINE__, "\"" s "\"", s }       /* valid string */
#define TX(s)     { __LINE__, "\"" s "\"", NULL }    /* invalid string */

static const time_case_t  time_cases[] = {
    TS("2026-01-31T08:00:00Z"),
    TS("2026-01-31T08:00:00+01:00"),
    TS("2026-01-31T08:00:00-05:30"),
    TS("2026-01-31T08:00:00+00:00"),
    TS("2026-01-31T08:00:00-00:00"),
    TS("2026-01-31T08:00:00+14:00"),
    TS("2026-01-31T08:00:00.5Z"),
    TS("2026-01-31T08:00:00.123+01:00"),
    TS("2026-01-31T08:00:00.123456789-03:00"),
    TS("2026-01-31t08:00:00z"),
    TS("2024-02-29T12:00:00Z"),
    TS("2000-02-29T12:00:00Z"),
    TS("2023-12-31T23:59:59Z"),
    TS("0001-01-01T00:00:00Z"),
    TS("9999-12-31T23:59:59Z"),
    TS("2026-04-30T00:00:00Z"),
    TX("2023-02-29T12:00:00Z"),
    TX("1900-02-29T12:00:00Z"),
    TX("2026-04-31T00:00:00Z"),
    TX("2026-01-32T00:00:00Z"),
    TX("2026-01-00T00:00:00Z"),
    TX("2026-13-01T00:00:00Z"),
    TX("2026-00-01T00:00:00Z"),
    TX("2026-01-31T24:00:00Z"),
    TX("2026-01-31T23:60:00Z"),
    TX("2026-01-31T23:00:61Z"),
    TX("2026-01-31T08:00:00+16:00"),
    TX("2026-01-31T08:00:00+01:60"),
    TX("0000-01-01T00:00:00Z"),
    TX("2026-01-31T08:00:00"),
    TX("2026-01-31T08:00:00.123"),
    TX("2026-01-31T08:00:00.Z"),
    TX("2026-01-31T08:00Z"),
    TX("2026-01-31"),
    TX("2026-1-31T08:00:00Z"),
    TX("2026-01-31 08:00:00Z"),
    TX("2026-01-31T08:00:00+0100"),
    TX("2026-01-31T08:00:00+01"),
    TX("2026-01-31T08:00:00 +01:00"),
    TX("2026-01-31T08:00:00ZZ"),
    TX("2026-01-31T08:00:00Z "),
    TX("2026-01-31T08:00:00UTC"),
    TX("+2026-01-31T08:00:00Z"),
    TX("1700000000"),
    TX(""),
    TM("0", "1970-01-01T00:00:00Z"),
    TM("1700000000", "2023-11-14T22:13:20Z"),
    TM("951782400", "2000-02-29T00:00:00Z"),
    TM("1709251199", "2024-02-29T23:59:59Z"),
    TM("253402300799", "9999-12-31T23:59:59Z"),
    TM("253402300800", NULL),
    TM("-1", NULL),
    TM("1.5", NULL),
    TM("1700000000.25", NULL),
    TM("-1700000000", NULL),
    TM("1e300", NULL),
};


static void
test_contract_times(void)
{
    int                 rc;
    sb_t                m;
    char               *body;
    size_t              i;
    epro_request_t      req;
    const time_case_t  *c;

    for (i = 0; i < NELTS(time_cases); i++) {
        c = &time_cases[i];

        memset(&m, 0, sizeof(m));
        sb_addf(&m, "\"collectedAt\":%s", c->value);
        body = make_sub("collectedAt", m.data);

        rc = parse(&req, body, strlen(body), 10);

        check_parse(__FILE__, c->line, &req, rc,
                    c->stored ? EPRO_OK : EPRO_STATUS_INVALID,
                    c->stored ? 0 : 1,
                    c->stored ? NULL : "/collectedAt");

        if (c->stored && rc == EPRO_OK && req.nsubs == 1) {
            check_str(__FILE__, c->line, "collected", req.subs[0].collected,
                      c->stored);
        }

        arena_release(&arena);
    }
}


/* answers that need a generated body */

static void
test_contract_answers(void)
{
    int              rc;
    sb_t             b, m;
    size_t           i, n;
    epro_request_t   req;

    static const struct {
        int          line;
        size_t       items;
        int          dup;       /* last item repeats the first id */
        int          status;
    } counts[] = {
        { __LINE__, 1, 0, OK },
        { __LINE__, 999, 0, OK },
        { __LINE__, 1000, 0, OK },
        { __LINE__, 1001, 0, INV },
        { __LINE__, 5000, 0, INV },
        { __LINE__, 1000, 1, INV },
    };

    for (i = 0; i < NELTS(counts); i++) {
        memset(&b, 0, sizeof(b));
        memset(&m, 0, sizeof(m));

        sb_add(&m, "\"answers\":{");

        for (n = 0; n < counts[i].items; n++) {
            if (counts[i].dup && n == counts[i].items - 1) {
                sb_add(&m, ",\"item0\":true");
                break;
            }

            sb_addf(&m, "%s\"item%lu\":%lu", n ? "," : "", (unsigned long) n,
                    (unsigned long) n);
        }

        sb_add(&m, "}");
        sb_sub(&b, "answers", m.data);

        rc = parse(&req, b.data, b.len, 10);
        check_parse(__FILE__, counts[i].line, &req, rc, counts[i].status, 1,
                    counts[i].status == OK ? NULL
                    : counts[i].dup ? "/answers/item0" : "/answers");

        arena_release(&arena);
    }

    /* item ids: 1 to 64 characters */

    static const struct {
        int          line;
        const char  *unit;
        size_t       count;
        int          ok;
    } ids[] = {
        { __LINE__, "i", 64, 1 },
        { __LINE__, "i", 65, 0 },
        { __LINE__, "\xC3\xA9", 64, 1 },
        { __LINE__, "\xC3\xA9", 65, 0 },
        { __LINE__, EMOJI, 64, 1 },
        { __LINE__, "\\u00e9", 64, 1 },
    };

    for (i = 0; i < NELTS(ids); i++) {
        sb_t  path = { NULL, 0, 0 };

        memset(&b, 0, sizeof(b));
        memset(&m, 0, sizeof(m));

        sb_add(&m, "\"answers\":{\"q0\":1,\"");
        sb_rep(&m, ids[i].unit, ids[i].count);
        sb_add(&m, "\":2}");
        sb_sub(&b, "answers", m.data);

        sb_add(&path, "/answers/");
        sb_rep(&path, ids[i].unit, ids[i].count);

        rc = parse(&req, b.data, b.len, 10);
        check_parse(__FILE__, ids[i].line, &req, rc, ids[i].ok ? OK : INV, 1,
                    ids[i].ok ? NULL : path.data);

        arena_release(&arena);
    }

    /* text answers: at most 4096 characters, alone or in an array */

    static const struct {
        int          line;
        const char  *unit;
        size_t       count;
        int          array;
        int          ok;
    } texts[] = {
        { __LINE__, "t", 4096, 0, 1 },
        { __LINE__, "t", 4097, 0, 0 },
        { __LINE__, "\xC3\xA9", 4096, 0, 1 },
        { __LINE__, "\xC3\xA9", 4097, 0, 0 },
        { __LINE__, EMOJI, 4096, 0, 1 },
        { __LINE__, "\\n", 4096, 0, 1 },
        { __LINE__, "\\n", 4097, 0, 0 },
        { __LINE__, "t", 4096, 1, 1 },
        { __LINE__, "t", 4097, 1, 0 },
        { __LINE__, "t", 100000, 0, 0 },
    };

    for (i = 0; i < NELTS(texts); i++) {
        memset(&b, 0, sizeof(b));
        memset(&m, 0, sizeof(m));

        sb_add(&m, texts[i].array ? "\"answers\":{\"q1\":1,\"long\":[1,\""
                                  : "\"answers\":{\"q1\":1,\"long\":\"");
        sb_rep(&m, texts[i].unit, texts[i].count);
        sb_add(&m, texts[i].array ? "\",null]}" : "\"}");
        sb_sub(&b, "answers", m.data);

        rc = parse(&req, b.data, b.len, 10);
        check_parse(__FILE__, texts[i].line, &req, rc,
                    texts[i].ok ? OK : INV, texts[i].ok ? 0 : 1,
                    texts[i].ok ? NULL : "/answers/long");

        arena_release(&arena);
    }
}


/* the body as a whole: arrays, limits, duplicate ids */

static void
test_contract_body(void)
{
    int                rc;
    sb_t               b, e0, e1, e2;
    size_t             i;
    epro_request_t     req;

    static const struct {
        int          line;
        const char  *body;
        size_t       nerrors;
        const char  *path;
    } bad[] = {
        { __LINE__, "[]", 1, "" },
        { __LINE__, " [ ] ", 1, "" },
        { __LINE__, "1", 1, "" },
        { __LINE__, "-2.5", 1, "" },
        { __LINE__, "\"x\"", 1, "" },
        { __LINE__, "null", 1, "" },
        { __LINE__, "true", 1, "" },
        { __LINE__, "[1]", 1, "/0" },
        { __LINE__, "[[]]", 1, "/0" },
        { __LINE__, "[\"x\",null]", 2, "/0" },
        { __LINE__, "{}", 6, "/studyId" },
    };

    for (i = 0; i < NELTS(bad); i++) {
        rc = parse(&req, bad[i].body, strlen(bad[i].body), 10);
        check_parse(__FILE__, bad[i].line, &req, rc, EPRO_STATUS_INVALID,
                    bad[i].nerrors, bad[i].path);
        arena_release(&arena);
    }

    /* an array of two: each payload is exactly the element's text */

    memset(&b, 0, sizeof(b));
    memset(&e0, 0, sizeof(e0));
    memset(&e1, 0, sizeof(e1));

    sb_sub(&e0, "submissionId", M("submissionId", "\"" UUID_A "\""));
    sb_sub(&e1, "siteId", M("siteId", "\"S \\\"2\\\" \\u00e9\""));

    sb_add(&b, "\r\n[ ");
    sb_add(&b, e0.data);
    sb_add(&b, " ,\n\t");
    sb_add(&b, e1.data);
    sb_add(&b, "\n]\n");

    rc = parse(&req, b.data, b.len, 2);
    check_parse(AT, &req, rc, EPRO_OK, 0, NULL);
    CHECK_INT("nsubs", req.nsubs, 2);

    if (rc == EPRO_OK && req.nsubs == 2) {
        check_mem(AT, "payload 0", req.subs[0].payload.data,
                  req.subs[0].payload.len, e0.data, e0.len);
        check_mem(AT, "payload 1", req.subs[1].payload.data,
                  req.subs[1].payload.len, e1.data, e1.len);
        CHECK_STR("id 0", req.subs[0].id, UUID_A);
        CHECK_STR("id 1", req.subs[1].id, "");
        CHECK(req.subs[0].site.data == NULL);
        check_mem(AT, "site 1", req.subs[1].site.data,
                  req.subs[1].site.len, "S \"2\" \xC3\xA9", 8);
    }

    /* the same body, max_submissions 1: too many */
    rc = parse(&req, b.data, b.len, 1);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, 1, "");

    arena_release(&arena);

    /* three elements: at max_submissions 3 fine, at 2 not */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[");
    for (i = 0; i < 3; i++) {
        sb_add(&b, i ? "," : "");
        sb_sub(&b, NULL, NULL);
    }
    sb_add(&b, "]");

    rc = parse(&req, b.data, b.len, 3);
    check_parse(AT, &req, rc, EPRO_OK, 0, NULL);
    CHECK_INT("nsubs", req.nsubs, 3);

    rc = parse(&req, b.data, b.len, 2);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, 1, "");

    /* the same req again, as it is: the old errors must be gone */
    rc = epro_parse(&req, b.data, b.len, &alloc);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, 1, "");
    req.max_submissions = 3;
    rc = epro_parse(&req, b.data, b.len, &alloc);
    check_parse(AT, &req, rc, EPRO_OK, 0, NULL);
    CHECK_INT("nsubs after reuse", req.nsubs, 3);

    arena_release(&arena);

    /* a single-element array; a fault in the second element */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[");
    sb_sub(&b, NULL, NULL);
    sb_add(&b, "]");

    rc = parse(&req, b.data, b.len, 1);
    check_parse(AT, &req, rc, EPRO_OK, 0, NULL);
    CHECK_INT("nsubs", req.nsubs, 1);

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[");
    sb_sub(&b, NULL, NULL);
    sb_add(&b, ",");
    sb_sub(&b, "studyId", NULL);
    sb_add(&b, ",");
    sb_sub(&b, "answers", M("answers", "{\"q\":{}}"));
    sb_add(&b, "]");

    rc = parse(&req, b.data, b.len, 10);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, 2, "/1/studyId");
    if (req.nerrors == 2) {
        CHECK_STR("errors[1].path", req.errors[1].path, "/2/answers/q");
    }

    arena_release(&arena);

    /* duplicate submissionIds */

    static const struct {
        int          line;
        const char  *ids[3];    /* NULL: no submissionId */
        const char  *path;      /* NULL: fine */
    } dups[] = {
        { __LINE__, { UUID_A, UUID_A, NULL }, "/1/submissionId" },
        { __LINE__, { UUID_A, UUID_A_UPPER, NULL }, "/1/submissionId" },
        { __LINE__, { UUID_A, UUID_B, UUID_A }, "/2/submissionId" },
        { __LINE__, { NULL, UUID_A, UUID_A }, "/2/submissionId" },
        { __LINE__, { UUID_A, UUID_B, NULL }, NULL },
        { __LINE__, { NULL, NULL, NULL }, NULL },
        { __LINE__, { NULL, UUID_A, NULL }, NULL },
    };

    for (i = 0; i < NELTS(dups); i++) {
        size_t  k;

        memset(&b, 0, sizeof(b));
        sb_add(&b, "[");

        for (k = 0; k < 3; k++) {
            memset(&e2, 0, sizeof(e2));

            if (dups[i].ids[k]) {
                sb_addf(&e2, "\"submissionId\":\"%s\"", dups[i].ids[k]);
            }

            sb_add(&b, k ? "," : "");
            sb_sub(&b, "submissionId", dups[i].ids[k] ? e2.data : NULL);
        }

        sb_add(&b, "]");

        rc = parse(&req, b.data, b.len, 3);
        check_parse(__FILE__, dups[i].line, &req, rc,
                    dups[i].path ? EPRO_STATUS_INVALID : EPRO_OK,
                    dups[i].path ? 1 : 0, dups[i].path);

        arena_release(&arena);
    }

    /* more errors than reported: the first EPRO_MAX_ERRORS, truncated */

    memset(&b, 0, sizeof(b));
    memset(&e2, 0, sizeof(e2));

    for (i = 0; i < EPRO_MAX_ERRORS + 5; i++) {
        sb_addf(&e2, "%s\"x%lu\":1", i ? "," : "", (unsigned long) i);
    }

    sb_sub(&b, "+", e2.data);

    rc = parse(&req, b.data, b.len, 10);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, EPRO_MAX_ERRORS, "/x0");
    CHECK_INT("truncated", req.truncated, 1);

    if (req.nerrors == EPRO_MAX_ERRORS) {
        CHECK_STR("last error", req.errors[EPRO_MAX_ERRORS - 1].path,
                  "/x19");
    }

    rc = parse(&req, "[1]", 3, 10);
    CHECK_INT("truncated after reuse", req.truncated, 0);

    arena_release(&arena);
}


/*
 * Very long member names: the paths are cut short somewhere, but they
 * start right and nothing overruns (run it under "make asan").
 */

static void
test_long_paths(void)
{
    int              rc;
    sb_t             b, m, key;
    size_t           i;
    const char      *path;
    epro_request_t   req;

    memset(&key, 0, sizeof(key));
    sb_rep(&key, "k/~", 400);

    /* an unknown member */
    memset(&b, 0, sizeof(b));
    memset(&m, 0, sizeof(m));
    sb_addf(&m, "\"%s\":1", key.data);
    sb_sub(&b, "+", m.data);

    rc = parse(&req, b.data, b.len, 10);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, 1, NULL);
    path = first_path(&req);
    CHECK(strncmp(path, "/k~1~0k~1~0", 11) == 0);

    /* an item id, in the second element of an array */
    memset(&b, 0, sizeof(b));
    memset(&m, 0, sizeof(m));
    sb_addf(&m, "\"answers\":{\"%s\":1}", key.data);
    sb_add(&b, "[");
    sb_sub(&b, NULL, NULL);
    sb_add(&b, ",");
    sb_sub(&b, "answers", m.data);
    sb_add(&b, "]");

    rc = parse(&req, b.data, b.len, 10);
    check_parse(AT, &req, rc, EPRO_STATUS_INVALID, 1, NULL);
    path = first_path(&req);
    CHECK(strncmp(path, "/1/answers/k~1~0k", 17) == 0);

    /* the scanner: deep, long names, bad content at the bottom */
    memset(&b, 0, sizeof(b));

    for (i = 0; i < EPRO_MAX_DEPTH - 1; i++) {
        sb_addf(&b, "{\"%s\":", key.data);
    }

    sb_add(&b, "[\"\\uDC00\"]");
    sb_rep(&b, "}", EPRO_MAX_DEPTH - 1);

    memset(&req, 0, sizeof(req));
    rc = epro_json_check(exact_copy(b.data, b.len), b.len, &req, &alloc);
    CHECK_INT("epro_json_check()", outcome(rc, &req), EPRO_STATUS_INVALID);
    path = first_path(&req);
    CHECK(strncmp(path, "/k~1~0k~1~0", 11) == 0);

    /* and a syntax error there */
    b.data[b.len - EPRO_MAX_DEPTH] = ',';

    memset(&req, 0, sizeof(req));
    rc = epro_json_check(exact_copy(b.data, b.len), b.len, &req, &alloc);
    CHECK_INT("epro_json_check()", outcome(rc, &req), EPRO_STATUS_BAD_JSON);

    /* array indexes all the way down */
    memset(&b, 0, sizeof(b));

    for (i = 0; i < EPRO_MAX_DEPTH; i++) {
        sb_add(&b, "[0,1,2,3,4,5,6,7,8,9,10,11,");
    }

    sb_add(&b, "01");

    memset(&req, 0, sizeof(req));
    rc = epro_json_check(exact_copy(b.data, b.len), b.len, &req, &alloc);
    CHECK_INT("epro_json_check()", outcome(rc, &req), EPRO_STATUS_BAD_JSON);
    path = first_path(&req);
    CHECK(strncmp(path, "/12/12/12/12", 12) == 0);

    arena_release(&arena);
}


/* ------------------------------------------------------------------ */
/* identifiers and timestamps                                          */


static uint32_t  lcg_state = 12345;

static unsigned
lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return (lcg_state >> 16) & 0x7fff;
}


static void
test_uuid_v7(void)
{
    char            out[EPRO_UUID_LEN + 2], prev[EPRO_UUID_LEN + 1];
    char            id[EPRO_UUID_LEN + 1], hex[16];
    size_t          i, k;
    uint64_t        ms;
    unsigned char   rnd[10];

    static const struct {
        int            line;
        uint64_t       ms;
        unsigned char  rnd[10];
        const char    *want;
    } cases[] = {
        { __LINE__, 0x0123456789abULL,
          { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
          "01234567-89ab-7fff-bfff-ffffffffffff" },
        { __LINE__, 0x0123456789abULL, { 0 },
          "01234567-89ab-7000-8000-000000000000" },
        { __LINE__, 0x0123456789abULL,
          { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22 },
          "01234567-89ab-7234-9678-9abcdef01122" },
        { __LINE__, 1700000000000ULL,
          { 0xa0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0x01 },
          "018bcfe5-6800-7000-8000-000000000001" },
        { __LINE__, 0, { 0 }, "00000000-0000-7000-8000-000000000000" },
        { __LINE__, 0xffffffffffffULL, { 0 },
          "ffffffff-ffff-7000-8000-000000000000" },
    };

    for (i = 0; i < NELTS(cases); i++) {
        memset(out, 'X', sizeof(out));
        epro_uuid_v7(out, cases[i].ms, cases[i].rnd);
        check_str(__FILE__, cases[i].line, "epro_uuid_v7()", out,
                  cases[i].want);
    }

    /* properties, over pseudo-random input */

    prev[0] = '\0';
    ms = 1600000000000ULL;

    for (i = 0; i < 2000; i++) {
        ms += 1 + lcg() % 5000;

        for (k = 0; k < sizeof(rnd); k++) {
            rnd[k] = (unsigned char) lcg();
        }

        epro_uuid_v7(out, ms, rnd);

        snprintf(hex, sizeof(hex), "%012llx", (unsigned long long) ms);

        if (!check_loop(AT, strlen(out) == EPRO_UUID_LEN
                            && out[8] == '-' && out[13] == '-' && out[18] == '-'
                            && out[23] == '-'
                            && out[14] == '7'
                            && strchr("89ab", out[19]) != NULL
                            && memcmp(out, hex, 8) == 0
                            && memcmp(out + 9, hex + 8, 4) == 0
                            && strspn(out, "0123456789abcdef-")
                               == EPRO_UUID_LEN
                            && epro_uuid_parse(id, out, EPRO_UUID_LEN)
                               == EPRO_OK
                            && strcmp(id, out) == 0
                            && strcmp(prev, out) < 0,
                        "uuid v7 properties, ms %llu: %s after %s",
                        (unsigned long long) ms, out, prev))
        {
            break;
        }

        memcpy(prev, out, sizeof(prev));
    }

    CHECK_INT("uuid v7 property runs", i, 2000);
}


static void
test_uuid_parse(void)
{
    int      rc;
    char     out[EPRO_UUID_LEN + 1];
    size_t   i;

    static const struct {
        int          line;
        const char  *in;
        size_t       len;       /* 0: strlen */
        const char  *want;      /* NULL: EPRO_ERROR */
    } cases[] = {
        { __LINE__, UUID_A, 0, UUID_A },
        { __LINE__, UUID_A_UPPER, 0, UUID_A },
        { __LINE__, UUID_A "trailing", EPRO_UUID_LEN, UUID_A },
        { __LINE__, UUID_A, EPRO_UUID_LEN - 1, NULL },
        { __LINE__, UUID_A "0", 0, NULL },
        { __LINE__, "", 0, NULL },
        { __LINE__, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5G", 0, NULL },
        { __LINE__, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5:", 0, NULL },
        { __LINE__, "0190a1b2+c3d4-7e5f-8a9b-0c1d2e3f4a5b", 0, NULL },
        { __LINE__, "0190a1b2-c3d4-7e5f-8a9b00c1d2e3f4a5b", 0, NULL },
        { __LINE__, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a-b", 0, NULL },
        { __LINE__, "0190a1b20c3d407e5f08a9b00c1d2e3f4a5b", 0, NULL },
        { __LINE__, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5\xC3", 0, NULL },
    };

    for (i = 0; i < NELTS(cases); i++) {
        const char  *in;
        size_t       len;

        len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        in = exact_copy(cases[i].in, len);

        memset(out, 'X', sizeof(out));
        rc = epro_uuid_parse(out, in, len);

        check_int(__FILE__, cases[i].line, "epro_uuid_parse()", rc,
                  cases[i].want ? EPRO_OK : EPRO_ERROR);

        if (cases[i].want && rc == EPRO_OK) {
            check_str(__FILE__, cases[i].line, "parsed", out, cases[i].want);
        }

        arena_release(&arena);
    }
}


static void
test_unix_to_rfc3339(void)
{
    char        out[EPRO_TIME_LEN + 8], want[64];
    size_t      i, n;
    int64_t     sec;
    time_t      t;
    struct tm  *tm;

    static const struct {
        int          line;
        int64_t      sec;
        unsigned     ms;
        const char  *want;
    } cases[] = {
        { __LINE__, 0, 0, "1970-01-01T00:00:00Z" },
        { __LINE__, 0, 5, "1970-01-01T00:00:00.005Z" },
        { __LINE__, 0, 50, "1970-01-01T00:00:00.050Z" },
        { __LINE__, 1700000000, 0, "2023-11-14T22:13:20Z" },
        { __LINE__, 1700000000, 123, "2023-11-14T22:13:20.123Z" },
        { __LINE__, 1700000000, 999, "2023-11-14T22:13:20.999Z" },
        { __LINE__, 86399, 0, "1970-01-01T23:59:59Z" },
        { __LINE__, 86400, 0, "1970-01-02T00:00:00Z" },
        { __LINE__, 94694399, 0, "1972-12-31T23:59:59Z" },
        { __LINE__, 951782400, 0, "2000-02-29T00:00:00Z" },
        { __LINE__, 951868800, 0, "2000-03-01T00:00:00Z" },
        { __LINE__, 1078012800, 1, "2004-02-29T00:00:00.001Z" },
        { __LINE__, 1709251199, 0, "2024-02-29T23:59:59Z" },
        { __LINE__, 4107542399LL, 0, "2100-02-28T23:59:59Z" },
        { __LINE__, 4107542400LL, 0, "2100-03-01T00:00:00Z" },
        { __LINE__, 253402300799LL, 0, "9999-12-31T23:59:59Z" },
        { __LINE__, 253402300799LL, 999, "9999-12-31T23:59:59.999Z" },
    };

    for (i = 0; i < NELTS(cases); i++) {
        memset(out, 'X', sizeof(out));
        n = epro_unix_to_rfc3339(out, cases[i].sec, cases[i].ms);

        check_str(__FILE__, cases[i].line, "epro_unix_to_rfc3339()", out,
                  cases[i].want);
        check_int(__FILE__, cases[i].line, "returned length", n,
                  strlen(cases[i].want));
        check_int(__FILE__, cases[i].line, "epro_rfc3339_valid(output)",
                  epro_rfc3339_valid(out, strlen(out)), EPRO_OK);
    }

    /* against the C library, over the whole range */

    for (sec = 0; sec <= 253402300799LL; sec += 86400LL * 37 + 3671) {
        t = (time_t) sec;
        tm = gmtime(&t);

        if (tm == NULL) {
            break;
        }

        strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", tm);
        epro_unix_to_rfc3339(out, sec, 0);

        if (!check_loop(AT, strcmp(out, want) == 0
                            && epro_rfc3339_valid(out, strlen(out))
                               == EPRO_OK,
                        "epro_unix_to_rfc3339(%lld): %s, want %s",
                   (long long) sec, out, want))
        {
            break;
        }
    }

    CHECK(sec > 253402300799LL);
}


static void
test_rfc3339_valid(void)
{
    size_t       i;
    const char  *s;

    /* only len bytes are looked at */

    static const struct {
        int          line;
        const char  *s;
        size_t       len;
        int          rc;
    } cases[] = {
        { __LINE__, "2026-01-31T08:00:00Zjunk", 20, EPRO_OK },
        { __LINE__, "2026-01-31T08:00:00Zjunk", 21, EPRO_ERROR },
        { __LINE__, "2026-01-31T08:00:00+01:00junk", 25, EPRO_OK },
        { __LINE__, "2026-01-31T08:00:00+01:00", 24, EPRO_ERROR },
        { __LINE__, "2026-01-31T08:00:00.5Z", 21, EPRO_ERROR },
        { __LINE__, "2026-01-31T08:00:00.5Z", 22, EPRO_OK },
        { __LINE__, "2026-01-31T08:00:00.", 20, EPRO_ERROR },
        { __LINE__, "2026-01-31T08:00:00", 19, EPRO_ERROR },
        { __LINE__, "2026-01-31T08:00:00.123", 23, EPRO_ERROR },
        { __LINE__, "2026-01-31T08:00:00+01:0", 24, EPRO_ERROR },
        { __LINE__, "", 0, EPRO_ERROR },
    };

    for (i = 0; i < NELTS(cases); i++) {
        s = exact_copy(cases[i].s, cases[i].len);
        check_int(__FILE__, cases[i].line, "epro_rfc3339_valid()",
                  epro_rfc3339_valid(s, cases[i].len), cases[i].rc);
        arena_release(&arena);
    }
}


/* ------------------------------------------------------------------ */
/* batch rows                                                          */


static epro_str_t
str_of(const char *s)
{
    epro_str_t  r;

    r.data = s;
    r.len = s ? strlen(s) : 0;

    return r;
}


static uint32_t
get32(const char *p)
{
    return (uint32_t) (unsigned char) p[0] << 24
           | (uint32_t) (unsigned char) p[1] << 16
           | (uint32_t) (unsigned char) p[2] << 8
           | (uint32_t) (unsigned char) p[3];
}


/*
 * A binary array as array_recv() reads it: one dimension from 1 (or
 * none), the flags 1 exactly if an element is NULL, the element type,
 * then each element's length (-1: NULL) and bytes; jsonb's start with
 * its version 1, which is not part of the element returned.
 */

static long
pg_binary_decode(const char *s, size_t len, uint32_t oid, epro_str_t *elts,
    size_t max)
{
    size_t      i, n, ndim, nulls;
    uint32_t    elen;

    if (len < 12 || get32(s + 8) != oid || get32(s + 4) > 1) {
        return -1;
    }

    ndim = get32(s);

    if (ndim == 0) {
        return (len == 12 && get32(s + 4) == 0) ? 0 : -1;
    }

    if (ndim != 1 || len < EPRO_ARRAY_HEAD || get32(s + 16) != 1) {
        return -1;
    }

    n = get32(s + 12);

    if (n > max) {
        return -1;
    }

    i = EPRO_ARRAY_HEAD;
    nulls = 0;

    for (ndim = 0; ndim < n; ndim++) {
        if (len - i < 4) {
            return -1;
        }

        elen = get32(s + i);
        i += 4;

        if (elen == 0xffffffff) {
            elts[ndim].data = NULL;
            elts[ndim].len = 0;
            nulls++;
            continue;
        }

        if (elen > len - i) {
            return -1;
        }

        if (oid == EPRO_OID_JSONB) {
            if (elen == 0 || s[i] != 1) {
                return -1;
            }

            i++;
            elen--;
        }

        elts[ndim].data = s + i;
        elts[ndim].len = elen;
        i += elen;
    }

    if (i != len || (get32(s + 4) == 1) != (nulls > 0)) {
        return -1;
    }

    return (long) n;
}


/*
 * Decodes a one-dimensional PostgreSQL array literal of quoted elements
 * and NULL into elts (data NULL for NULL); returns the count or -1.
 */

static long
pg_array_decode(const char *s, size_t len, epro_str_t *elts, size_t max)
{
    char        *d;
    size_t       i, n;

    if (len < 2 || s[0] != '{' || s[len - 1] != '}') {
        return -1;
    }

    if (len == 2) {
        return 0;
    }

    i = 1;
    n = 0;

    for ( ;; ) {
        if (n == max) {
            return -1;
        }

        if (len - i >= 4 && memcmp(s + i, "NULL", 4) == 0) {
            elts[n].data = NULL;
            elts[n].len = 0;
            i += 4;

        } else if (s[i] == '"') {
            d = test_alloc(len);
            elts[n].data = d;
            i++;

            while (i < len - 1 && s[i] != '"') {
                if (s[i] == '\\') {
                    i++;
                }

                *d++ = s[i++];
            }

            if (i >= len - 1) {
                return -1;
            }

            elts[n].len = d - elts[n].data;
            i++;

        } else {
            return -1;
        }

        n++;

        if (s[i] == '}' && i == len - 1) {
            return (long) n;
        }

        if (s[i] != ',') {
            return -1;
        }

        i++;
    }
}


/*
 * Decodes a column of a finished batch into elts (data NULL for NULL),
 * as PostgreSQL would; returns the count or -1.
 */

static long
pg_column_decode(const epro_rows_t *rows, size_t col, epro_str_t *elts,
    size_t max)
{
    if (epro_col_oid(col)) {
        return pg_binary_decode(rows->col[col].data, rows->col[col].len,
                                epro_col_oid(col), elts, max);
    }

    return pg_array_decode(rows->col[col].data, rows->col[col].len, elts,
                           max);
}


static void
test_rows(void)
{
    int                 rc;
    long                n;
    size_t              i, k;
    epro_str_t          elts[4], *want;
    epro_rows_t         rows;
    epro_submission_t   s[2];

    /* the array literals; the binary columns are decoded below */
    static const char *const  cols[EPRO_NCOLS] = {
        "{\"" UUID_A "\",\"" UUID_B "\"}",
        NULL, NULL, NULL, NULL, NULL,
        "{\"2026-01-31T08:00:00+01:00\",\"2023-11-14T22:13:20Z\"}",
        "{\"2026-01-31T07:00:00.123Z\",\"2026-01-31T07:00:00.123Z\"}",
        NULL,
        "{\"127.0.0.1\",NULL}",
        NULL, NULL,
        "{NULL,\"2.5\"}",
    };

    memset(&rows, 0, sizeof(rows));
    memset(s, 0, sizeof(s));

    memcpy(s[0].id, UUID_A, sizeof(UUID_A));
    s[0].study = str_of("ST\"1");
    s[0].site = str_of(NULL);
    s[0].subject = str_of("P\\1");
    s[0].visit = str_of("Week 1");
    s[0].instrument = str_of("PHQ-9");
    memcpy(s[0].collected, "2026-01-31T08:00:00+01:00", 26);
    s[0].payload = str_of("{\"a\":\"b\\\"c\"}");
    s[0].client = str_of("127.0.0.1");

    memcpy(s[1].id, UUID_B, sizeof(UUID_B));
    s[1].study = str_of("S2");
    s[1].site = str_of("");
    s[1].subject = str_of("NULL");
    s[1].visit = str_of("{x,y}");
    s[1].instrument = str_of("\xC3\xA9");
    memcpy(s[1].collected, "2023-11-14T22:13:20Z", 21);
    s[1].payload = str_of("{}");
    s[1].answers = str_of("{\"q\":[1,\"a\"]}");
    s[1].fhir_status = str_of("completed");
    s[1].score = str_of("2.5");

    for (i = 0; i < 2; i++) {
        rc = epro_rows_add(&rows, &s[i], "2026-01-31T07:00:00.123Z", &alloc);
        CHECK_INT("epro_rows_add()", rc, EPRO_OK);
    }

    CHECK_INT("nrows", rows.nrows, 2);

    rc = epro_rows_finish(&rows, &alloc);
    CHECK_INT("epro_rows_finish()", rc, EPRO_OK);

    for (i = 0; i < EPRO_NCOLS; i++) {
        CHECK(rows.col[i].data[rows.col[i].len] == '\0');
        CHECK((cols[i] == NULL) == (epro_col_oid(i) != 0));

        if (cols[i]) {
            check_mem(AT, "column", rows.col[i].data, rows.col[i].len,
                      cols[i], strlen(cols[i]));
        }
    }

    /* and back: the decoded elements are the originals */

    for (i = 0; i < 2; i++) {
        const epro_str_t  *orig[EPRO_NCOLS];

        orig[EPRO_COL_STUDY] = &s[i].study;
        orig[EPRO_COL_SITE] = &s[i].site;
        orig[EPRO_COL_SUBJECT] = &s[i].subject;
        orig[EPRO_COL_VISIT] = &s[i].visit;
        orig[EPRO_COL_INSTRUMENT] = &s[i].instrument;
        orig[EPRO_COL_PAYLOAD] = &s[i].payload;
        orig[EPRO_COL_ANSWERS] = &s[i].answers;
        orig[EPRO_COL_FHIR_STATUS] = &s[i].fhir_status;

        for (k = EPRO_COL_STUDY; k <= EPRO_COL_FHIR_STATUS; k++) {
            if (!epro_col_oid(k)) {
                continue;
            }

            n = pg_column_decode(&rows, k, elts, 4);
            CHECK_INT("decoded elements", n, 2);

            if (n != 2) {
                continue;
            }

            want = (epro_str_t *) orig[k];

            if (want->data == NULL) {
                CHECK(elts[i].data == NULL);

            } else {
                check_mem(AT, "decoded", elts[i].data, elts[i].len,
                          want->data, want->len);
            }
        }
    }

    /* reset and reuse; then no rows at all */

    epro_rows_reset(&rows);
    CHECK_INT("nrows after reset", rows.nrows, 0);

    rc = epro_rows_add(&rows, &s[1], "r", &alloc);
    CHECK_INT("epro_rows_add()", rc, EPRO_OK);
    rc = epro_rows_finish(&rows, &alloc);
    CHECK_INT("epro_rows_finish()", rc, EPRO_OK);
    n = pg_column_decode(&rows, EPRO_COL_SITE, elts, 4);
    CHECK(n == 1 && elts[0].data && elts[0].len == 0);
    CHECK_STR("received after reset", rows.col[EPRO_COL_RECEIVED].data,
              "{\"r\"}");
    n = pg_column_decode(&rows, EPRO_COL_PAYLOAD, elts, 4);
    CHECK(n == 1);
    check_mem(AT, "payload after reset", elts[0].data, elts[0].len, "{}", 2);

    epro_rows_reset(&rows);
    rc = epro_rows_finish(&rows, &alloc);
    CHECK_INT("epro_rows_finish() of nothing", rc, EPRO_OK);

    for (i = 0; i < EPRO_NCOLS; i++) {
        if (epro_col_oid(i)) {
            CHECK_INT("empty binary column",
                      pg_column_decode(&rows, i, elts, 4), 0);

        } else {
            CHECK_STR("empty column", rows.col[i].data, "{}");
        }
    }

    epro_rows_free(&rows, &alloc);
    CHECK(rows.col[0].data == NULL && rows.nrows == 0);

    arena_release(&arena);

    /* many rows with big, quote-heavy payloads: the buffers grow */

    {
        sb_t  big = { NULL, 0, 0 };

        memset(&rows, 0, sizeof(rows));
        sb_rep(&big, "\"\\x", 3000);
        s[0].payload.data = big.data;
        s[0].payload.len = big.len;

        for (i = 0; i < 50; i++) {
            rc = epro_rows_add(&rows, &s[0], "r", &alloc);
            if (rc != EPRO_OK) {
                break;
            }
        }

        CHECK_INT("epro_rows_add() x 50", rc, EPRO_OK);
        CHECK_INT("epro_rows_finish()",
                  epro_rows_finish(&rows, &alloc), EPRO_OK);
        CHECK_INT("payload column length",
                  rows.col[EPRO_COL_PAYLOAD].len,
                  EPRO_ARRAY_HEAD + 50 * (4 + 3 * 3000));
        CHECK_INT("site column length", rows.col[EPRO_COL_SITE].len,
                  EPRO_ARRAY_HEAD + 50 * 4);
        CHECK_INT("client column length", rows.col[EPRO_COL_CLIENT].len,
                  2 + 50 * 11 + 49);
    }

    arena_release(&arena);
}


/*
 * epro_rows_copy(): requests' rows taken out of a finished batch into new
 * ones give the same columns as encoding the submissions again.
 */

static void
rows_encode(epro_rows_t *rows, const epro_submission_t *s, size_t n,
    size_t *from, size_t *to)
{
    size_t  i, k;

    for (k = 0; k < EPRO_NCOLS; k++) {
        from[k] = rows->col[k].len;
    }

    for (i = 0; i < n; i++) {
        CHECK_INT("epro_rows_add()",
                  epro_rows_add(rows, &s[i], "2026-01-31T07:00:00.123Z",
                                &alloc),
                  EPRO_OK);
    }

    for (k = 0; k < EPRO_NCOLS; k++) {
        to[k] = rows->col[k].len;
    }
}


/* both finished: the same rows, column by column */

static void
rows_same(int line, epro_rows_t *got, epro_rows_t *want)
{
    size_t  k;

    CHECK_INT("epro_rows_finish()", epro_rows_finish(got, &alloc), EPRO_OK);
    CHECK_INT("epro_rows_finish()", epro_rows_finish(want, &alloc), EPRO_OK);
    check_int(__FILE__, line, "nrows", (long) got->nrows, (long) want->nrows);

    for (k = 0; k < EPRO_NCOLS; k++) {
        check_mem(__FILE__, line, "column", got->col[k].data, got->col[k].len,
                  want->col[k].data, want->col[k].len);
        check(__FILE__, line, got->col[k].data[got->col[k].len] == '\0',
              "column ends with NUL");
    }
}


static void
test_rows_copy(void)
{
    size_t              i;
    size_t              from[3][EPRO_NCOLS], to[3][EPRO_NCOLS];
    size_t              f[EPRO_NCOLS], t[EPRO_NCOLS];
    epro_rows_t         a, b, c, want;
    epro_submission_t   s[3];

    memset(s, 0, sizeof(s));

    for (i = 0; i < 3; i++) {
        memcpy(s[i].id, i ? UUID_B : UUID_A, sizeof(UUID_A));
        s[i].study = str_of(i == 1 ? "S\"2" : "S1");
        s[i].site = str_of(i == 2 ? NULL : "SITE");
        s[i].subject = str_of("P\\1");
        s[i].visit = str_of("{x,y}");
        s[i].instrument = str_of("PHQ-9");
        memcpy(s[i].collected, "2026-01-31T08:00:00+01:00", 26);
        s[i].payload = str_of(i == 1 ? "{\"a\":\"b\\\"c\"}" : "{}");
        s[i].client = str_of(i == 0 ? NULL : "::1");
    }

    /* a batch of three requests: s[0]; s[1], s[2]; s[0] again */

    memset(&a, 0, sizeof(a));
    rows_encode(&a, &s[0], 1, from[0], to[0]);
    rows_encode(&a, &s[1], 2, from[1], to[1]);
    rows_encode(&a, &s[0], 1, from[2], to[2]);
    CHECK_INT("epro_rows_finish()", epro_rows_finish(&a, &alloc), EPRO_OK);

    /* the second request alone */

    memset(&b, 0, sizeof(b));
    CHECK_INT("epro_rows_copy()",
              epro_rows_copy(&b, &a, from[1], to[1], 2, &alloc), EPRO_OK);
    memset(&want, 0, sizeof(want));
    rows_encode(&want, &s[1], 2, f, t);
    rows_same(__LINE__, &b, &want);

    /* the third after a row encoded in the new batch */

    memset(&c, 0, sizeof(c));
    rows_encode(&c, &s[2], 1, f, t);
    CHECK_INT("epro_rows_copy()",
              epro_rows_copy(&c, &a, from[2], to[2], 1, &alloc), EPRO_OK);
    epro_rows_reset(&want);
    rows_encode(&want, &s[2], 1, f, t);
    rows_encode(&want, &s[0], 1, f, t);
    rows_same(__LINE__, &c, &want);

    arena_release(&arena);
}


/*
 * epro_column: the extra columns follow the module's, one element per
 * row (NULL for no value); copy, finish and reset see them, and a batch
 * without them (nextra 0) leaves them untouched.
 */

static void
test_rows_extra(void)
{
    size_t              k, from[EPRO_MAX_COLS], to[EPRO_MAX_COLS];
    epro_str_t          extra[2], elts[4];
    epro_rows_t         a, b;
    epro_submission_t   s;

    memset(&s, 0, sizeof(s));
    memcpy(s.id, UUID_A, sizeof(UUID_A));
    s.study = str_of("S1");
    s.subject = str_of("P1");
    s.instrument = str_of("PHQ-9");
    memcpy(s.collected, "2026-01-31T08:00:00+01:00", 26);
    s.payload = str_of("{}");

    memset(&a, 0, sizeof(a));
    a.nextra = 2;
    extra[0] = str_of("user \"1\"");
    extra[1] = str_of(NULL);

    CHECK_INT("epro_rows_add()",
              epro_rows_add(&a, &s, "2026-01-31T08:00:01Z", &alloc), EPRO_OK);
    CHECK_INT("epro_rows_add_extra()",
              epro_rows_add_extra(&a, extra, &alloc), EPRO_OK);
    extra[0] = str_of("u2");
    extra[1] = str_of("dev,2");

    for (k = 0; k < EPRO_NCOLS + 2; k++) {
        from[k] = a.col[k].len;
    }

    CHECK_INT("epro_rows_add()",
              epro_rows_add(&a, &s, "2026-01-31T08:00:01Z", &alloc), EPRO_OK);
    CHECK_INT("epro_rows_add_extra()",
              epro_rows_add_extra(&a, extra, &alloc), EPRO_OK);

    for (k = 0; k < EPRO_NCOLS + 2; k++) {
        to[k] = a.col[k].len;
    }

    CHECK_INT("epro_rows_finish()", epro_rows_finish(&a, &alloc), EPRO_OK);

    CHECK_INT("extra 0", pg_column_decode(&a, EPRO_NCOLS, elts, 4), 2);
    check_mem(AT, "extra 0", elts[0].data, elts[0].len, "user \"1\"", 8);
    check_mem(AT, "extra 0", elts[1].data, elts[1].len, "u2", 2);
    CHECK_INT("extra 1", pg_column_decode(&a, EPRO_NCOLS + 1, elts, 4), 2);
    CHECK(elts[0].data == NULL);
    check_mem(AT, "extra 1", elts[1].data, elts[1].len, "dev,2", 5);
    CHECK(a.col[EPRO_NCOLS + 2].data == NULL);

    /* the second row alone, as a split copies it */

    memset(&b, 0, sizeof(b));
    b.nextra = 2;
    CHECK_INT("epro_rows_copy()",
              epro_rows_copy(&b, &a, from, to, 1, &alloc), EPRO_OK);
    CHECK_INT("epro_rows_finish()", epro_rows_finish(&b, &alloc), EPRO_OK);
    CHECK_INT("copied 0", pg_column_decode(&b, EPRO_NCOLS, elts, 4), 1);
    check_mem(AT, "copied 0", elts[0].data, elts[0].len, "u2", 2);
    CHECK_INT("copied 1", pg_column_decode(&b, EPRO_NCOLS + 1, elts, 4), 1);
    check_mem(AT, "copied 1", elts[0].data, elts[0].len, "dev,2", 5);

    epro_rows_reset(&a);
    CHECK_INT("reset", (int) a.col[EPRO_NCOLS].len, 0);

    arena_release(&arena);
}


/* parse, give generated ids, encode, decode: payloads survive */

static void
test_rows_end_to_end(void)
{
    int                 rc;
    sb_t                b = { NULL, 0, 0 };
    long                n;
    size_t              i;
    epro_str_t          elts[4];
    epro_rows_t         rows;
    epro_request_t      req;
    unsigned char       rnd[10];

    sb_add(&b, "[");
    sb_sub(&b, "answers", M("answers", "{\"q\\\"1\":\"a\\\\b\",\"q2\":[1]}"));
    sb_add(&b, ",");
    sb_sub(&b, "submissionId", M("submissionId", "\"" UUID_A "\""));
    sb_add(&b, ",");
    sb_sub(&b, "siteId", M("siteId", "\"\\u00e9\\\\\""));
    sb_add(&b, "]");

    rc = parse(&req, b.data, b.len, 3);
    check_parse(AT, &req, rc, EPRO_OK, 0, NULL);

    if (rc != EPRO_OK || req.nsubs != 3) {
        arena_release(&arena);
        return;
    }

    memset(&rows, 0, sizeof(rows));
    memset(rnd, 0x42, sizeof(rnd));

    for (i = 0; i < req.nsubs; i++) {
        if (req.subs[i].id[0] == '\0') {
            epro_uuid_v7(req.subs[i].id, 1700000000000ULL + i, rnd);
        }

        rc = epro_rows_add(&rows, &req.subs[i], "2026-01-31T07:00:00Z",
                           &alloc);
        CHECK_INT("epro_rows_add()", rc, EPRO_OK);
    }

    CHECK_INT("epro_rows_finish()", epro_rows_finish(&rows, &alloc),
              EPRO_OK);

    n = pg_column_decode(&rows, EPRO_COL_PAYLOAD, elts, 4);
    CHECK_INT("payloads", n, 3);

    for (i = 0; n == 3 && i < 3; i++) {
        check_mem(AT, "payload", elts[i].data, elts[i].len,
                  req.subs[i].payload.data, req.subs[i].payload.len);
    }

    n = pg_column_decode(&rows, EPRO_COL_SITE, elts, 4);
    CHECK_INT("sites", n, 3);

    if (n == 3) {
        CHECK(elts[0].data == NULL && elts[1].data == NULL);
        check_mem(AT, "site 2", elts[2].data, elts[2].len, "\xC3\xA9\\", 3);
    }

    CHECK_STR("ids", rows.col[EPRO_COL_ID].data,
              "{\"018bcfe5-6800-7242-8242-424242424242\",\"" UUID_A "\","
              "\"018bcfe5-6802-7242-8242-424242424242\"}");

    arena_release(&arena);
}


/* ------------------------------------------------------------------ */
/* JSON output                                                         */


static unsigned
random_code_point(void)
{
    unsigned  c;

    switch (lcg() % 4) {
    case 0:
        return lcg() % 0x80;
    case 1:
        return 0x80 + lcg() % 0x780;
    case 2:
        c = 0x800 + lcg() % 0xf800;
        return (c >= 0xd800 && c <= 0xdfff) ? 0xfffd : c;
    default:
        return 0x10000 + (((unsigned) lcg() << 15) | lcg()) % 0x100000;
    }
}


static size_t
utf8_put(unsigned char *p, unsigned c)
{
    if (c < 0x80) {
        p[0] = (unsigned char) c;
        return 1;
    }

    if (c < 0x800) {
        p[0] = (unsigned char) (0xc0 | (c >> 6));
        p[1] = (unsigned char) (0x80 | (c & 0x3f));
        return 2;
    }

    if (c < 0x10000) {
        p[0] = (unsigned char) (0xe0 | (c >> 12));
        p[1] = (unsigned char) (0x80 | ((c >> 6) & 0x3f));
        p[2] = (unsigned char) (0x80 | (c & 0x3f));
        return 3;
    }

    p[0] = (unsigned char) (0xf0 | (c >> 18));
    p[1] = (unsigned char) (0x80 | ((c >> 12) & 0x3f));
    p[2] = (unsigned char) (0x80 | ((c >> 6) & 0x3f));
    p[3] = (unsigned char) (0x80 | (c & 0x3f));
    return 4;
}


/* RFC 3629, written apart from the code under test */

static int
utf8_valid(const unsigned char *p, size_t n)
{
    size_t         i, k, len;
    unsigned char  lo, hi;

    for (i = 0; i < n; i += len) {
        lo = 0x80;
        hi = 0xbf;

        if (p[i] < 0x80) {
            len = 1;
        } else if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            len = 2;
        } else if (p[i] >= 0xe0 && p[i] <= 0xef) {
            len = 3;
            lo = (p[i] == 0xe0) ? 0xa0 : 0x80;
            hi = (p[i] == 0xed) ? 0x9f : 0xbf;
        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            len = 4;
            lo = (p[i] == 0xf0) ? 0x90 : 0x80;
            hi = (p[i] == 0xf4) ? 0x8f : 0xbf;
        } else {
            return 0;
        }

        if (n - i < len) {
            return 0;
        }

        for (k = 1; k < len; k++) {
            if (p[i + k] < (k == 1 ? lo : 0x80)
                || p[i + k] > (k == 1 ? hi : 0xbf))
            {
                return 0;
            }
        }
    }

    return 1;
}


typedef struct {
    int          line;
    const char  *in;
    size_t       len;
    const char  *want;
} json_out_case_t;


#define JO(in, want)  { __LINE__, in, sizeof(in) - 1, want }

static const json_out_case_t  json_out_cases[] = {
    JO("", "\"\""),
    JO("plain text", "\"plain text\""),
    JO("a\"b\\c", "\"a\\\"b\\\\c\""),
    JO("\x01\n\x1f", "\"\\u0001\\u000a\\u001f\""),
    JO("\t\r\b\f", "\"\\u0009\\u000d\\u0008\\u000c\""),
    JO("a\0b", "\"a\\u0000b\""),
    JO("\xff", "\"\\ufffd\""),
    JO("x\xC3y", "\"x\\ufffdy\""),
    JO("\x80z", "\"\\ufffdz\""),
    JO("\xC3\xA9\xE2\x82\xAC" EMOJI "\xF4\x8F\xBF\xBF",
       "\"\xC3\xA9\xE2\x82\xAC" EMOJI "\xF4\x8F\xBF\xBF\""),
};


static void
test_json_string(void)
{
    int              rc;
    char            *in;
    size_t           i, k, n;
    const char      *str;
    epro_buf_t       b;
    epro_node_t     *v;
    epro_request_t   req;
    unsigned char    raw[48];

    static const char *const  invalid[] = {
        "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82",
        "\x80\x80", "\xF0\x9F\x98", "a\xF5z", "\xFE\xFF",
    };

    for (i = 0; i < NELTS(json_out_cases); i++) {
        const json_out_case_t  *c = &json_out_cases[i];

        memset(&b, 0, sizeof(b));
        in = exact_copy(c->in, c->len);
        rc = epro_buf_add_json_string(&b, in, c->len, &alloc);

        check_int(__FILE__, c->line, "epro_buf_add_json_string()", rc,
                  EPRO_OK);
        check_mem(__FILE__, c->line, "output", b.data, b.len, c->want,
                  strlen(c->want));
        check(__FILE__, c->line, b.data && b.data[b.len] == '\0',
              "output is not NUL-terminated");

        arena_release(&arena);
    }

    /* invalid UTF-8 turns into U+FFFD: the output is valid JSON */

    for (i = 0; i < NELTS(invalid); i++) {
        memset(&b, 0, sizeof(b));
        memset(&req, 0, sizeof(req));

        rc = epro_buf_add_json_string(&b, invalid[i], strlen(invalid[i]),
                                      &alloc);
        CHECK_INT("epro_buf_add_json_string()", rc, EPRO_OK);

        rc = epro_json_check(b.data, b.len, &req, &alloc);
        if (!check(AT, rc == EPRO_OK, "output %s is not valid JSON (%d)",
                   b.data, rc))
        {
            continue;
        }

        CHECK(strstr(b.data, "\\ufffd") != NULL);

        arena_release(&arena);
    }

    /* appends to what is there */

    memset(&b, 0, sizeof(b));
    CHECK_INT("epro_buf_add()", epro_buf_add(&b, "x:", 2, &alloc), EPRO_OK);
    CHECK_INT("epro_buf_add_json_string()",
              epro_buf_add_json_string(&b, "\"", 1, &alloc), EPRO_OK);
    CHECK_STR("appended", b.data, "x:\"\\\"\"");
    arena_release(&arena);

    /* random bytes: always strict JSON; valid UTF-8 round-trips */

    for (i = 0; i < 3000; i++) {
        int  nul;

        n = lcg() % (sizeof(raw) - 4);
        nul = 0;

        if (i % 2) {
            /* random bytes, mostly invalid */
            for (k = 0; k < n; k++) {
                switch (lcg() % 4) {
                case 0:
                    raw[k] = (unsigned char) (lcg() & 0xff);
                    break;
                case 1:
                    raw[k] = (unsigned char) (0x80 + lcg() % 0x40);
                    break;
                default:
                    raw[k] = (unsigned char) (lcg() % 0x80);
                }
            }

        } else {
            /* random code points, valid */
            k = 0;

            while (k < n) {
                k += utf8_put(raw + k, random_code_point());
            }

            n = k;
        }

        for (k = 0; k < n; k++) {
            nul |= (raw[k] == 0);
        }

        memset(&b, 0, sizeof(b));
        memset(&req, 0, sizeof(req));
        in = exact_copy((char *) raw, n);

        rc = epro_buf_add_json_string(&b, in, n, &alloc);
        if (rc != EPRO_OK) {
            CHECK_INT("epro_buf_add_json_string()", rc, EPRO_OK);
            break;
        }

        rc = epro_json_check(b.data, b.len, &req, &alloc);

        if (!check_loop(AT, outcome(rc, &req)
                           == (nul ? EPRO_STATUS_INVALID : EPRO_OK),
                        "random string %lu: epro_json_check(output) = %d",
                        (unsigned long) i, outcome(rc, &req)))
        {
            print_esc(b.data, b.len);
            putchar('\n');
            break;
        }

        if (!utf8_valid(raw, n)) {
            /* replaced */
            if (!check_loop(AT, strstr(b.data, "\\ufffd") != NULL,
                            "random string %lu: no U+FFFD in %s",
                            (unsigned long) i, b.data))
            {
                break;
            }

            arena_release(&arena);
            continue;
        }

        if (nul) {
            arena_release(&arena);
            continue;
        }

        /* valid UTF-8 without NUL: decodes to itself */

        v = epro_tree_parse(b.data, b.len, &alloc);
        str = v ? epro_node_string(v) : NULL;

        if (!check_loop(AT, str && strlen(str) == n
                            && memcmp(str, raw, n) == 0,
                        "random string %lu does not round-trip",
                        (unsigned long) i))
        {
            break;
        }

        arena_release(&arena);
    }

    CHECK_INT("random strings", i, 3000);

    arena_release(&arena);
}


/* a member of o, NULL if o is no object: reading back what was written */

static epro_node_t *
json_get(const epro_node_t *o, const char *name)
{
    if (o == NULL || epro_node_type(o) != EPRO_NODE_OBJECT) {
        return NULL;
    }

    return epro_node_member(o, name);
}


static int
json_is(const epro_node_t *n, epro_node_type_e type)
{
    return n != NULL && epro_node_type(n) == type;
}


/* the i-th element of an array */

static epro_node_t *
json_at(const epro_node_t *a, size_t i)
{
    epro_node_t  *e;

    for (e = epro_node_child(a); e && i; e = epro_node_next(e)) {
        i--;
    }

    return e;
}


static const char *
json_get_string(const epro_node_t *o, const char *name)
{
    epro_node_t  *v;

    v = json_get(o, name);

    return json_is(v, EPRO_NODE_STRING) ? epro_node_string(v)
                                        : "(not a string)";
}


static void
test_problem_json(void)
{
    int              rc;
    size_t           i;
    epro_buf_t       b;
    epro_node_t     *root, *errors, *e;
    epro_request_t   req, chk;

    memset(&req, 0, sizeof(req));
    memset(&b, 0, sizeof(b));

    epro_error(&req, &alloc, "/0/answers/q\"1\\", "bad \"%s\"\n\x01",
               "value");
    epro_error(&req, &alloc, "/a~1b", "invalid \xff byte, %d", 7);
    epro_error(&req, &alloc, "", "root");

    rc = epro_problem_json(&b, 422, "https://example.org/problems/invalid",
                           "Invalid submission", "detail with \"quotes\"",
                           &req, &alloc);
    CHECK_INT("epro_problem_json()", rc, EPRO_OK);

    memset(&chk, 0, sizeof(chk));
    CHECK_INT("strict check of the output",
              epro_json_check(b.data, b.len, &chk, &alloc),
              EPRO_OK);

    root = epro_tree_parse(b.data, b.len, &alloc);
    CHECK(json_is(root, EPRO_NODE_OBJECT));

    if (json_is(root, EPRO_NODE_OBJECT)) {
        CHECK_STR("type", json_get_string(root, "type"),
                  "https://example.org/problems/invalid");
        CHECK_STR("title", json_get_string(root, "title"),
                  "Invalid submission");
        CHECK_STR("detail", json_get_string(root, "detail"),
                  "detail with \"quotes\"");

        e = json_get(root, "status");
        CHECK(json_is(e, EPRO_NODE_NUMBER) && epro_node_number(e) == 422);

        CHECK(json_get(root, "truncated") == NULL
              || json_is(json_get(root, "truncated"), EPRO_NODE_FALSE));

        errors = json_get(root, "errors");
        CHECK(json_is(errors, EPRO_NODE_ARRAY)
              && epro_node_count(errors) == 3);

        if (json_is(errors, EPRO_NODE_ARRAY)
            && epro_node_count(errors) == 3)
        {
            e = json_at(errors, 0);
            CHECK_STR("errors[0].path", json_get_string(e, "path"),
                      "/0/answers/q\"1\\");
            CHECK_STR("errors[0].message", json_get_string(e, "message"),
                      "bad \"value\"\n\x01");

            e = json_at(errors, 1);
            CHECK_STR("errors[1].path", json_get_string(e, "path"),
                      "/a~1b");
            CHECK_STR("errors[1].message", json_get_string(e, "message"),
                      "invalid \xEF\xBF\xBD byte, 7");

            e = json_at(errors, 2);
            CHECK_STR("errors[2].path", json_get_string(e, "path"), "");
        }
    }

    arena_release(&arena);

    /* no detail, no request: type, title and status only */

    memset(&b, 0, sizeof(b));
    rc = epro_problem_json(&b, 400, "about:blank", "Bad Request", NULL,
                           NULL, &alloc);
    CHECK_INT("epro_problem_json()", rc, EPRO_OK);

    root = epro_tree_parse(b.data, b.len, &alloc);
    CHECK(json_is(root, EPRO_NODE_OBJECT) && epro_node_count(root) == 3);
    CHECK_STR("type", json_get_string(root, "type"), "about:blank");
    CHECK(json_is(json_get(root, "status"), EPRO_NODE_NUMBER));
    CHECK(json_get(root, "detail") == NULL);
    CHECK(json_get(root, "errors") == NULL);
    arena_release(&arena);

    /* from real failures: truncated errors, a path with invalid UTF-8 */

    static const struct {
        int          line;
        const char  *body;
        int          status;
        int          truncated;
    } bodies[] = {
        { __LINE__, "{\"\xff\":1}", EPRO_STATUS_INVALID, 0 },
        { __LINE__, "{\"a\\\"b\":[\"\xC3\"]}", EPRO_STATUS_INVALID, 0 },
        { __LINE__, "[\"\\u0000\",01]", EPRO_STATUS_BAD_JSON, 0 },
        { __LINE__, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,"
                    "\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,"
                    "\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17,"
                    "\"r\":18,\"s\":19,\"t\":20,\"u\":21}",
          EPRO_STATUS_INVALID, 1 },
    };

    for (i = 0; i < NELTS(bodies); i++) {
        rc = parse(&req, bodies[i].body, strlen(bodies[i].body), 10);
        check_int(__FILE__, bodies[i].line, "epro_parse()",
                  outcome(rc, &req), bodies[i].status);

        memset(&b, 0, sizeof(b));
        rc = epro_problem_json(&b, req.status, "about:blank", "Failed",
                               NULL, &req, &alloc);
        check_int(__FILE__, bodies[i].line, "epro_problem_json()", rc,
                  EPRO_OK);

        memset(&chk, 0, sizeof(chk));
        rc = epro_json_check(b.data, b.len, &chk, &alloc);
        check_int(__FILE__, bodies[i].line, "strict check of the output",
                  rc, EPRO_OK);

        root = epro_tree_parse(b.data, b.len, &alloc);
        errors = json_get(root, "errors");
        e = json_get(root, "truncated");

        check(__FILE__, bodies[i].line,
              json_is(errors, EPRO_NODE_ARRAY)
              && epro_node_count(errors) == req.nerrors,
              "errors[] does not hold the %lu errors",
              (unsigned long) req.nerrors);
        check(__FILE__, bodies[i].line,
              bodies[i].truncated ? json_is(e, EPRO_NODE_TRUE)
                                  : (e == NULL || json_is(e, EPRO_NODE_FALSE)),
              "truncated should be %s", bodies[i].truncated ? "true" : "no");

        arena_release(&arena);
    }
}


/* epro_error() and epro_utf8_chars() */

static void
test_errors(void)
{
    char            path[8], msg[600];
    size_t          i;
    epro_request_t  req;

    memset(&req, 0, sizeof(req));
    memcpy(path, "/abc", 5);

    CHECK_INT("epro_error()", epro_error(&req, &alloc, path, "m %d", 1),
              EPRO_OK);
    path[1] = 'X';
    CHECK_STR("path is a copy", req.errors[0].path, "/abc");
    CHECK_STR("message", req.errors[0].message, "m 1");

    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    CHECK_INT("epro_error(long)", epro_error(&req, &alloc, "", "%s", msg),
              EPRO_OK);
    CHECK(req.nerrors == 2 && strlen(req.errors[1].message) > 0
          && strlen(req.errors[1].message) < sizeof(msg) - 1);

    for (i = 2; i < EPRO_MAX_ERRORS + 3; i++) {
        CHECK_INT("epro_error()", epro_error(&req, &alloc, "/", "e"),
                  EPRO_OK);
    }

    CHECK_INT("nerrors at the cap", req.nerrors, EPRO_MAX_ERRORS);
    CHECK_INT("truncated", req.truncated, 1);

    CHECK_INT("chars of \"\"", epro_utf8_chars("", 0), 0);
    CHECK_INT("chars of abc", epro_utf8_chars("abc", 3), 3);
    CHECK_INT("chars of multibyte",
              epro_utf8_chars("\xC3\xA9\xE2\x82\xAC" EMOJI "x", 10), 4);

    arena_release(&arena);
}


/* out of memory at every allocation: EPRO_NOMEM, never a crash */

static void
test_nomem(void)
{
    int              rc;
    sb_t             b;
    long             k;
    size_t           i;
    epro_buf_t       out;
    epro_rows_t      rows;
    epro_request_t   req;

    static const struct {
        int          line;
        const char  *body;
        int          status;
    } bodies[] = {
        { __LINE__, NULL, EPRO_OK },               /* a valid array of 2 */
        { __LINE__, "{\"a\":\"\xff\"}", EPRO_STATUS_INVALID },
        { __LINE__, "[01]", EPRO_STATUS_BAD_JSON },
        { __LINE__, "{\"x\":1}", EPRO_STATUS_INVALID },
        { __LINE__, "[]", EPRO_STATUS_INVALID },
    };

    for (i = 0; i < NELTS(bodies); i++) {
        for (k = 0; k < 10000; k++) {
            memset(&b, 0, sizeof(b));

            if (bodies[i].body) {
                sb_add(&b, bodies[i].body);

            } else {
                sb_add(&b, "[");
                sb_sub(&b, NULL, NULL);
                sb_add(&b, ",");
                sb_sub(&b, "+", M("siteId", "\"s\""));
                sb_add(&b, "]");
            }

            arena.fail_after = (long) arena.nallocs + k;

            rc = parse(&req, b.data, b.len, 10);

            arena.fail_after = -1;

            if (rc != EPRO_NOMEM) {
                break;
            }
        }

        check_int(__FILE__, bodies[i].line,
                  "epro_parse() once memory suffices",
                  outcome(rc, &req), bodies[i].status);

        if (bodies[i].status != EPRO_OK) {
            check(__FILE__, bodies[i].line, req.nerrors >= 1,
                  "no error reported");
        }

        arena_release(&arena);
    }

    /* the outputs */

    memset(&req, 0, sizeof(req));
    epro_error(&req, &alloc, "/x", "unknown member");

    for (k = 0; k < 1000; k++) {
        memset(&out, 0, sizeof(out));
        arena.fail_after = (long) arena.nallocs + k;
        rc = epro_problem_json(&out, 422, "t", "t", "d", &req, &alloc);
        arena.fail_after = -1;

        if (rc != EPRO_NOMEM) {
            break;
        }
    }

    CHECK_INT("epro_problem_json() once memory suffices", rc, EPRO_OK);

    arena.fail_after = (long) arena.nallocs;
    memset(&rows, 0, sizeof(rows));
    {
        epro_submission_t  s;

        memset(&s, 0, sizeof(s));
        memcpy(s.id, UUID_A, sizeof(UUID_A));
        s.study = str_of("s");
        s.subject = str_of("s");
        s.visit = str_of("v");
        s.instrument = str_of("i");
        s.payload = str_of("{}");

        CHECK_INT("epro_rows_add() without memory",
                  epro_rows_add(&rows, &s, "r", &alloc), EPRO_NOMEM);
    }

    arena.fail_after = -1;
    arena_release(&arena);
}


/* ------------------------------------------------------------------ */


/* each value's bytes in the text: what the FHIR glue sends back as sent */

static void
test_tree_spans(void)
{
    size_t              i, len;
    const char         *at;
    epro_node_t        *root, *n;

    static const char  text[] =
        " {\"a\" : [1.50, \"x\\\"y\\\\\" ,{}], \"b\":{\"c\":true},"
        "\"\\u0064\":null}\n";
    static const char *const  want[] = {
        "[1.50, \"x\\\"y\\\\\" ,{}]", "{\"c\":true}", "null"
    };

    root = epro_tree_parse(text, sizeof(text) - 1, &alloc);
    CHECK(json_is(root, EPRO_NODE_OBJECT));

    if (root == NULL) {
        return;
    }

    at = epro_node_span(root, &len);
    check_mem(AT, "root", at, len, text + 1, sizeof(text) - 3);

    for (i = 0, n = epro_node_child(root); n && i < NELTS(want);
         i++, n = epro_node_next(n))
    {
        at = epro_node_span(n, &len);
        check_mem(AT, "member", at, len, want[i], strlen(want[i]));
        CHECK(epro_node_end(n) == at + len);
    }

    CHECK(i == NELTS(want) && n == NULL);

    n = epro_node_child(epro_node_child(root));
    at = epro_node_span(n, &len);
    check_mem(AT, "a[0]", at, len, "1.50", 4);
    at = epro_node_span(epro_node_next(n), &len);
    check_mem(AT, "a[1]", at, len, "\"x\\\"y\\\\\"", 8);

    arena_release(&arena);
}


int
main(void)
{
    size_t  i;

    harness_init("test_core", &arena, 160);

    for (i = 0; i < NELTS(json_cases); i++) {
        test_json_case(&json_cases[i]);
        arena_release(&arena);
    }

    test_json_depth();
    test_json_string_bytes();
    test_tree_array_spans();
    test_json_paths();

    for (i = 0; i < NELTS(contract_cases); i++) {
        test_contract_case(&contract_cases[i]);
        arena_release(&arena);
    }

    test_contract_fields();
    test_contract_strings();
    test_contract_ids();
    test_contract_times();
    test_contract_answers();
    test_contract_body();
    test_long_paths();

    test_uuid_v7();
    test_uuid_parse();
    test_unix_to_rfc3339();
    test_rfc3339_valid();
    test_rows();
    test_rows_copy();
    test_rows_extra();
    test_rows_end_to_end();
    test_json_string();
    test_problem_json();
    test_tree_spans();
    test_errors();
    test_nomem();

    arena_release(&arena);

    return harness_report();
}
