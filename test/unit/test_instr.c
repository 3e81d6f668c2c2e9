
/*
 * Unit tests for the questionnaire-aware validation of the ePRO module:
 * instrument definitions (epro_instruments_load() and the lookups of
 * src/core/epro_instr.c) and the checks epro_parse() makes with them (the
 * instrument policy, every item type and rule, the clock).  No nginx.
 *
 * Build and run from this directory ("make test" builds and runs this
 * and test_core; "make asan" runs both under ASan and UBSan):
 *
 *   cc -std=c99 -Wall -Wextra -Werror -g -I../../src/core \
 *       ../../src/core/epro_json.c ../../src/core/epro_parse.c \
 *       ../../src/core/epro_encode.c ../../src/core/epro_instr.c \
 *       ../../src/core/epro_tree.c harness.c test_instr.c -lm \
 *       -o test_instr
 *   ./test_instr
 *
 * The shipped definitions are read from ../../conf/instruments.json.
 *
 * Every allocation of the code under test goes through an arena like
 * nginx's pools (harness.c): it bumps through malloc'd chunks, its free
 * is a no-op, new memory is filled with garbage, and the whole arena is
 * released at once.  The definitions live in an arena of their own (like
 * the configuration pool), the requests in another (like a request pool).
 * With -DARENA_EXACT every allocation gets a chunk of exactly its size,
 * so that ASan sees any overrun.  Texts are passed without a NUL after
 * them, as nginx has them.
 *
 * Each check counts once; a failure prints "file:line: ..." (for a table
 * row, the line of that row).  The last line is "N passed, M failed" and
 * the exit status is 1 if anything failed.
 */


#define _POSIX_C_SOURCE  200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epro_core.h"
#include "harness.h"


/* ------------------------------------------------------------------ */
/* arenas                                                              */


/*
 * The definitions live in conf_arena (a configuration pool), the requests
 * in req_arena (a request pool), which test_alloc() draws from too.
 */

static arena_t       conf_arena = ARENA_INIT;
static arena_t       req_arena = ARENA_INIT;

static epro_alloc_t  conf_alloc = { arena_alloc, arena_free, &conf_arena };
static epro_alloc_t  req_alloc = { arena_alloc, arena_free, &req_arena };

static int           defs_loaded;   /* the rule tests' definitions are up */


static void
release_all(void)
{
    arena_release(&req_arena);
    arena_release(&conf_arena);
    defs_loaded = 0;
}


static double
ms_since(const struct timespec *t0)
{
    struct timespec  t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);

    return (t1.tv_sec - t0->tv_sec) * 1e3
           + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}


#define DUP_ID        "0b8d5d3e-1a2b-4c3d-8e4f-000000000020"
#define DUP_ID_UPPER  "0B8D5D3E-1A2B-4C3D-8E4F-000000000020"


/* ------------------------------------------------------------------ */
/* loading                                                             */


/* loads text (copied without a NUL) into the configuration arena */

static int
load(epro_instruments_t *set, const char *text, size_t len, char *err,
    size_t errlen)
{
    char  *copy;

    memset(set, 0x5a, sizeof(epro_instruments_t));
    memset(err, 0, errlen);

    copy = exact_copy(text, len);

    return epro_instruments_load(set, copy, len, err, errlen, &conf_alloc);
}


/* one instrument "T" with the given items; an item of type integer */

#define DEF1(items)                                                         \
    "{\"instruments\":[{\"code\":\"T\",\"items\":[" items "]}]}"
#define DEFI(m)        DEF1("{\"id\":\"a\",\"type\":\"integer\"" m "}")
#define DEFT(type, m)  DEF1("{\"id\":\"a\",\"type\":\"" type "\"" m "}")
#define IT(id)         "{\"id\":\"" id "\",\"type\":\"integer\"}"

#define S64  "0123456789012345678901234567890123456789012345678901234567890123"

#define E_TYPE  "must be one of integer, decimal, string, boolean, choice, " \
                "date, datetime"
#define E_ID    "/instruments/0/items/0/id: must be a string of 1 to 64 " \
                "characters"
#define E_CODE  "/instruments/0/code: must be a string of 1 to 64 characters"
#define E_MIN   "/instruments/0/items/0/min: a number, for integer and " \
                "decimal items"
#define E_MAX   "/instruments/0/items/0/max: a number, for integer and " \
                "decimal items"
#define E_LEN   "/instruments/0/items/0/maxLength: an integer from 1 to " \
                "4096, for string items"
#define E_ITEMS "/instruments/0/items: must be an array of 1 to 1000 items"


typedef struct {
    int          line;
    const char  *text;
    size_t       len;
    const char  *err;           /* NULL: loads */
} load_case_t;


#define LOK(t)      { __LINE__, t, sizeof(t) - 1, NULL }
#define LBAD(t, e)  { __LINE__, t, sizeof(t) - 1, e }


static const load_case_t  load_cases[] = {

    /* valid */
    LOK("{\"instruments\":[]}"),
    LOK(" \n{ \"instruments\" : [ ] }\r\n\t"),
    LOK(DEFI("")),
    LOK(DEFI(",\"min\":0,\"max\":0")),
    LOK(DEFI(",\"min\":-5")),
    LOK(DEFI(",\"max\":1e6,\"required\":true,\"multiple\":false")),
    LOK(DEFI(",\"label\":\"\",\"required\":false,\"multiple\":true")),
    LOK(DEFT("decimal", ",\"min\":-1.5,\"max\":-1.25")),
    LOK(DEFT("string", "")),
    LOK(DEFT("string", ",\"maxLength\":1")),
    LOK(DEFT("string", ",\"maxLength\":4096")),
    LOK(DEFT("string", ",\"maxLength\":10.0")),
    LOK(DEFT("boolean", "")),
    LOK(DEFT("choice", ",\"choices\":[\"a\",1,-2.5,\"\"]")),
    LOK(DEFT("choice", ",\"choices\":[0],\"multiple\":true")),
    LOK(DEFT("date", ",\"required\":true")),
    LOK(DEFT("datetime", "")),
    LOK("{\"instruments\":[{\"code\":\"" S64 "\",\"version\":\"" S64 "\","
        "\"title\":\"\",\"unknownItems\":\"allow\",\"items\":["
        "{\"id\":\"" S64 "\",\"type\":\"integer\"}]}]}"),
    LOK("{\"instruments\":[{\"code\":\"T\",\"unknownItems\":\"reject\","
        "\"items\":[" IT("a") "]},{\"code\":\"t\",\"items\":[" IT("a")
        "," IT("A") "]}]}"),
    LOK("{\"instruments\":[{\"code\":\"\xC3\xA9\",\"items\":["
        IT("\xE2\x82\xAC") "]}]}"),

    /* not JSON, or not strict JSON: the byte, and the pointer if inside */
    LBAD("", "the file is empty"),
    LBAD(" \n", "malformed JSON at byte 2: the body is empty"),
    LBAD("instruments", "malformed JSON at byte 0: unexpected character"),
    LBAD("{\"instruments\":[]", "malformed JSON at byte 17: "
         "expected ',' or '}'"),
    LBAD("{\"instruments\":[],}", "malformed JSON at byte 18: "
         "expected a member name"),
    LBAD("{\"instruments\":[]} x", "malformed JSON at byte 19: "
         "unexpected data after the JSON value"),
    LBAD("{'instruments':[]}", "malformed JSON at byte 1: "
         "expected a member name"),
    LBAD(DEF1(IT("a") ","), "/instruments/0/items/1: malformed JSON at "
         "byte 65: unexpected character"),
    LBAD(DEFT("choice", ",\"choices\":[1,]"), "/instruments/0/items/0/"
         "choices/1: malformed JSON at byte 76: unexpected character"),
    LBAD(DEFI(",\"min\":01"), "/instruments/0/items/0/min: malformed JSON "
         "at byte 71: invalid number: leading zero"),
    LBAD(DEFI(",\"min\":1e400"), "/instruments/0/items/0/min: number is "
         "out of range (byte 75)"),
    LBAD("{\"instruments\":[{\"code\":\"\xFF\",\"items\":[" IT("a") "]}]}",
         "/instruments/0/code: string is not valid UTF-8 (byte 25)"),
    LBAD("{\"instruments\":[]} /* c */", "malformed JSON at byte 19: "
         "unexpected data after the JSON value"),

    /* the top level */
    LBAD("[]", "must be an object with \"instruments\""),
    LBAD("{}", "/instruments: must be an array"),
    LBAD("{\"instruments\":{}}", "/instruments: must be an array"),
    LBAD("{\"instruments\":null}", "/instruments: must be an array"),
    LBAD("{\"instruments\":[],\"version\":1}", "/version: unknown member"),
    LBAD("{\"instruments\":[],\"instruments\":[]}",
         "/instruments: duplicate member"),

    /* an instrument */
    LBAD("{\"instruments\":[1]}", "/instruments/0: must be an object"),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"name\":\"x\",\"items\":["
         IT("a") "]}]}", "/instruments/0/name: unknown member"),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"Items\":[" IT("a") "]}]}",
         "/instruments/0/Items: unknown member"),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"code\":\"U\",\"items\":["
         IT("a") "]}]}", "/instruments/0/code: duplicate member"),
    LBAD("{\"instruments\":[{\"items\":[" IT("a") "]}]}", E_CODE),
    LBAD("{\"instruments\":[{\"code\":\"\",\"items\":[" IT("a") "]}]}",
         E_CODE),
    LBAD("{\"instruments\":[{\"code\":9,\"items\":[" IT("a") "]}]}", E_CODE),
    LBAD("{\"instruments\":[{\"code\":\"" S64 "X\",\"items\":[" IT("a")
         "]}]}", E_CODE),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"version\":1,\"items\":["
         IT("a") "]}]}", "/instruments/0/version: must be a string of 1 "
         "to 64 characters"),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"title\":null,\"items\":["
         IT("a") "]}]}", "/instruments/0/title: must be a string"),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"unknownItems\":\"ignore\","
         "\"items\":[" IT("a") "]}]}", "/instruments/0/unknownItems: must "
         "be \"reject\" or \"allow\""),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"unknownItems\":true,"
         "\"items\":[" IT("a") "]}]}", "/instruments/0/unknownItems: must "
         "be \"reject\" or \"allow\""),
    LBAD("{\"instruments\":[{\"code\":\"T\"}]}", E_ITEMS),
    LBAD(DEF1(""), E_ITEMS),
    LBAD("{\"instruments\":[{\"code\":\"T\",\"items\":{}}]}", E_ITEMS),
    LBAD("{\"instruments\":[{\"code\":\"A\",\"items\":[" IT("a") "]},"
         "{\"code\":\"B\",\"items\":[" IT("a") ",{\"type\":\"integer\"}"
         "]}]}", "/instruments/1/items/1/id: must be a string of 1 to 64 "
         "characters"),

    /* an item */
    LBAD(DEF1("[]"), "/instruments/0/items/0: must be an object"),
    LBAD(DEF1(IT("a") ",\"b\""), "/instruments/0/items/1: must be an "
         "object"),
    LBAD(DEFI(",\"name\":\"x\""), "/instruments/0/items/0/name: unknown "
         "member"),
    LBAD(DEFI(",\"a/b~\":1"), "/instruments/0/items/0/a~1b~0: unknown "
         "member"),
    LBAD(DEFI(",\"type\":\"string\""), "/instruments/0/items/0/type: "
         "duplicate member"),
    LBAD(DEF1("{\"type\":\"integer\"}"), E_ID),
    LBAD(DEF1("{\"id\":\"\",\"type\":\"integer\"}"), E_ID),
    LBAD(DEF1("{\"id\":5,\"type\":\"integer\"}"), E_ID),
    LBAD(DEF1("{\"id\":null,\"type\":\"integer\"}"), E_ID),
    LBAD(DEF1("{\"id\":\"" S64 "X\",\"type\":\"integer\"}"), E_ID),
    LBAD(DEF1("{\"id\":\"a\"}"), "/instruments/0/items/0/type: " E_TYPE),
    LBAD(DEFT("int", ""), "/instruments/0/items/0/type: " E_TYPE),
    LBAD(DEFT("Integer", ""), "/instruments/0/items/0/type: " E_TYPE),
    LBAD(DEFT("", ""), "/instruments/0/items/0/type: " E_TYPE),
    LBAD(DEF1("{\"id\":\"a\",\"type\":1}"), "/instruments/0/items/0/type: "
         E_TYPE),
    LBAD(DEFI(",\"label\":2"), "/instruments/0/items/0/label: must be a "
         "string"),
    LBAD(DEFT("string", ",\"min\":1"), E_MIN),
    LBAD(DEFT("boolean", ",\"min\":0"), E_MIN),
    LBAD(DEFT("choice", ",\"min\":0,\"choices\":[1]"), E_MIN),
    LBAD(DEFT("date", ",\"max\":1"), E_MAX),
    LBAD(DEFT("string", ",\"max\":1"), E_MAX),
    LBAD(DEFI(",\"min\":\"0\""), E_MIN),
    LBAD(DEFI(",\"max\":null"), E_MAX),
    LBAD(DEFI(",\"min\":4,\"max\":3"), "/instruments/0/items/0/max: is "
         "below min"),
    LBAD(DEFT("decimal", ",\"max\":0.5,\"min\":0.6"),
         "/instruments/0/items/0/max: is below min"),
    LBAD(DEFT("string", ",\"maxLength\":0"), E_LEN),
    LBAD(DEFT("string", ",\"maxLength\":-1"), E_LEN),
    LBAD(DEFT("string", ",\"maxLength\":4097"), E_LEN),
    LBAD(DEFT("string", ",\"maxLength\":2.5"), E_LEN),
    LBAD(DEFT("string", ",\"maxLength\":\"5\""), E_LEN),
    LBAD(DEFI(",\"maxLength\":5"), E_LEN),
    LBAD(DEFT("choice", ",\"maxLength\":5,\"choices\":[\"a\"]"), E_LEN),
    LBAD(DEFT("choice", ""), "/instruments/0/items/0/choices: required "
         "for choice items"),
    LBAD(DEFT("choice", ",\"multiple\":true"), "/instruments/0/items/0/"
         "choices: required for choice items"),
    LBAD(DEFI(",\"choices\":[1,2]"), "/instruments/0/items/0/choices: "
         "only for choice items"),
    LBAD(DEFT("string", ",\"choices\":[\"a\"]"), "/instruments/0/items/0/"
         "choices: only for choice items"),
    LBAD(DEFT("choice", ",\"choices\":[]"), "/instruments/0/items/0/"
         "choices: must be a non-empty array"),
    LBAD(DEFT("choice", ",\"choices\":\"a\""), "/instruments/0/items/0/"
         "choices: must be a non-empty array"),
    LBAD(DEFT("choice", ",\"choices\":[\"a\",{}]"), "/instruments/0/items/"
         "0/choices/1: must be a string or a number"),
    LBAD(DEFT("choice", ",\"choices\":[{\"value\":1}]"), "/instruments/0/"
         "items/0/choices/0: must be a string or a number"),
    LBAD(DEFT("choice", ",\"choices\":[1,2,[3]]"), "/instruments/0/items/"
         "0/choices/2: must be a string or a number"),
    LBAD(DEFT("choice", ",\"choices\":[null]"), "/instruments/0/items/0/"
         "choices/0: must be a string or a number"),
    LBAD(DEFT("choice", ",\"choices\":[\"a\",true]"), "/instruments/0/"
         "items/0/choices/1: must be a string or a number"),
    LBAD(DEFI(",\"required\":\"yes\""), "/instruments/0/items/0/required: "
         "must be true or false"),
    LBAD(DEFI(",\"required\":1"), "/instruments/0/items/0/required: must "
         "be true or false"),
    LBAD(DEFI(",\"multiple\":0"), "/instruments/0/items/0/multiple: must "
         "be true or false"),

    /* duplicates */
    LBAD("{\"instruments\":[{\"code\":\"T\",\"items\":[" IT("a") "]},"
         "{\"code\":\"T\",\"items\":[" IT("b") "]}]}",
         "/instruments/1/code: duplicate code"),
    LBAD("{\"instruments\":[{\"code\":\"A\",\"items\":[" IT("a") "]},"
         "{\"code\":\"B\",\"items\":[" IT("a") "]},"
         "{\"code\":\"A\",\"items\":[" IT("a") "]}]}",
         "/instruments/2/code: duplicate code"),
    LBAD(DEF1(IT("a") "," IT("b") "," IT("a")),
         "/instruments/0/items/2/id: duplicate item id"),
    LBAD("{\"instruments\":[{\"code\":\"A\",\"items\":[" IT("a") "]},"
         "{\"code\":\"B\",\"items\":[" IT("x") ","
         "{\"id\":\"x\",\"type\":\"string\"}]}]}",
         "/instruments/1/items/1/id: duplicate item id"),
};


static void
test_load_case(const load_case_t *c)
{
    int                  rc;
    char                 err[256];
    epro_instruments_t   set;

    rc = load(&set, c->text, c->len, err, sizeof(err));

    if (c->err == NULL) {
        if (!check_int(__FILE__, c->line, "epro_instruments_load()", rc,
                       EPRO_OK))
        {
            printf("    err: %s\n", err);
        }

        return;
    }

    if (!check_int(__FILE__, c->line, "epro_instruments_load()", rc,
                   EPRO_ERROR))
    {
        return;
    }

    check_str(__FILE__, c->line, "err", err, c->err);
}


/* what a valid definition holds */

static void
test_load_fields(void)
{
    int                       rc;
    char                      err[256];
    const epro_item_t        *it;
    epro_instruments_t        set;
    const epro_instrument_t  *in;

    static const char  text[] =
        "{\"instruments\":["
        "{\"code\":\"A\",\"version\":\"2.1\",\"title\":\"t\",\"items\":["
        "{\"id\":\"n\",\"type\":\"integer\",\"min\":-2,\"max\":7,"
        "\"required\":true},"
        "{\"id\":\"d\",\"type\":\"decimal\",\"max\":0.5},"
        "{\"id\":\"s\",\"type\":\"string\",\"maxLength\":12,"
        "\"label\":\"x\"},"
        "{\"id\":\"b\",\"type\":\"boolean\",\"required\":false},"
        "{\"id\":\"c\",\"type\":\"choice\",\"choices\":[\"x\",2,\"y\"],"
        "\"multiple\":true,\"required\":true},"
        "{\"id\":\"dt\",\"type\":\"date\"},"
        "{\"id\":\"ts\",\"type\":\"datetime\",\"multiple\":false}]},"
        "{\"code\":\"B\",\"unknownItems\":\"allow\",\"items\":["
        "{\"id\":\"n\",\"type\":\"string\"}]}]}";

    rc = load(&set, text, sizeof(text) - 1, err, sizeof(err));

    if (!CHECK_INT("epro_instruments_load()", rc, EPRO_OK)) {
        printf("    err: %s\n", err);
        release_all();
        return;
    }

    CHECK_INT("set.n", set.n, 2);

    in = &set.list[0];
    check_mem(AT, "code", in->code.data, in->code.len, "A", 1);
    check_mem(AT, "version", in->version.data, in->version.len, "2.1", 3);
    CHECK_INT("nitems", in->nitems, 7);
    CHECK_INT("nrequired", in->nrequired, 2);
    CHECK_INT("allow_unknown", in->allow_unknown, 0);

    it = &in->items[0];
    check_mem(AT, "items[0].id", it->id.data, it->id.len, "n", 1);
    CHECK_INT("items[0].type", it->type, EPRO_ITEM_INTEGER);
    CHECK(it->has_min && it->min == -2 && it->has_max && it->max == 7);
    CHECK(it->required && !it->multiple && it->nchoices == 0);

    it = &in->items[1];
    CHECK_INT("items[1].type", it->type, EPRO_ITEM_DECIMAL);
    CHECK(!it->has_min && it->has_max && it->max == 0.5 && !it->required);

    it = &in->items[2];
    CHECK_INT("items[2].type", it->type, EPRO_ITEM_STRING);
    CHECK_INT("items[2].max_length", it->max_length, 12);
    CHECK(!it->has_min && !it->has_max);

    it = &in->items[3];
    CHECK_INT("items[3].type", it->type, EPRO_ITEM_BOOLEAN);
    CHECK_INT("items[3].required", it->required, 0);
    CHECK_INT("items[3].max_length", it->max_length, 0);

    it = &in->items[4];
    CHECK_INT("items[4].type", it->type, EPRO_ITEM_CHOICE);
    CHECK(it->multiple && it->required);

    if (CHECK_INT("items[4].nchoices", it->nchoices, 3)) {
        check_mem(AT, "choices[0]", it->choices[0].str.data,
                  it->choices[0].str.len, "x", 1);
        CHECK(it->choices[1].str.data == NULL && it->choices[1].num == 2);
        check_mem(AT, "choices[2]", it->choices[2].str.data,
                  it->choices[2].str.len, "y", 1);
    }

    CHECK_INT("items[5].type", in->items[5].type, EPRO_ITEM_DATE);
    CHECK_INT("items[6].type", in->items[6].type, EPRO_ITEM_DATETIME);
    CHECK_INT("items[6].multiple", in->items[6].multiple, 0);

    in = &set.list[1];
    check_mem(AT, "code", in->code.data, in->code.len, "B", 1);
    CHECK(in->version.data == NULL || in->version.len == 0);
    CHECK_INT("allow_unknown", in->allow_unknown, 1);
    CHECK_INT("nrequired", in->nrequired, 0);

    /* no instruments at all: loads, finds nothing */

    rc = load(&set, "{\"instruments\":[]}", 18, err, sizeof(err));
    CHECK_INT("empty list", rc, EPRO_OK);
    CHECK_INT("empty list: n", set.n, 0);
    CHECK(epro_instrument_find(&set, "A", 1) == NULL);

    release_all();
}


/* an err buffer too small for the message is cut, never overrun */

static void
test_load_small_err(void)
{
    int                  rc;
    char                 err[9];
    epro_instruments_t   set;

    static const char  text[] = DEF1(IT("a") "," IT("a"));

    memset(err, 'x', sizeof(err));
    rc = epro_instruments_load(&set, exact_copy(text, sizeof(text) - 1),
                               sizeof(text) - 1, err, sizeof(err),
                               &conf_alloc);

    CHECK_INT("rc", rc, EPRO_ERROR);
    CHECK_STR("err cut", err, "/instrum");

    release_all();
}


/* 1000 items is the limit of one instrument */

static void
test_load_limits(void)
{
    int                  rc;
    char                 err[256];
    sb_t                 b;
    size_t               i, n;
    epro_instruments_t   set;

    for (n = 1000; n <= 1001; n++) {
        memset(&b, 0, sizeof(b));
        sb_add(&b, "{\"instruments\":[{\"code\":\"T\",\"items\":[");

        for (i = 0; i < n; i++) {
            sb_addf(&b, "%s{\"id\":\"i%lu\",\"type\":\"integer\"}",
                    i ? "," : "", (unsigned long) i);
        }

        sb_add(&b, "]}]}");

        rc = load(&set, b.data, b.len, err, sizeof(err));

        if (n == 1000) {
            if (!CHECK_INT("1000 items", rc, EPRO_OK)) {
                printf("    err: %s\n", err);
            }

        } else {
            CHECK_INT("1001 items", rc, EPRO_ERROR);
            CHECK_STR("1001 items: err", err, E_ITEMS);
        }

        release_all();
    }

    /* many instruments */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "{\"instruments\":[");

    for (i = 0; i < 500; i++) {
        sb_addf(&b, "%s{\"code\":\"I%lu\",\"items\":[" IT("a") "]}",
                i ? "," : "", (unsigned long) i);
    }

    sb_add(&b, "]}");

    rc = load(&set, b.data, b.len, err, sizeof(err));

    if (CHECK_INT("500 instruments", rc, EPRO_OK)) {
        CHECK_INT("500 instruments: n", set.n, 500);

        for (i = 0; i < 500; i++) {
            char                      code[16];
            const epro_instrument_t  *in;

            n = (size_t) snprintf(code, sizeof(code), "I%lu",
                                  (unsigned long) i);
            in = epro_instrument_find(&set, code, n);

            if (!check_loop(AT, in == &set.list[i], "%s not found", code)) {
                break;
            }
        }

        CHECK(i == 500);
        CHECK(epro_instrument_find(&set, "I500", 4) == NULL);
        CHECK(epro_instrument_find(&set, "I", 1) == NULL);
        CHECK(epro_instrument_find(&set, "", 0) == NULL);
    }

    release_all();
}


/* read a whole file; NULL if it cannot be read */

static char *
read_file(const char *name, size_t *len)
{
    long    n;
    char   *p;
    FILE   *f;

    f = fopen(name, "rb");
    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    p = malloc(n ? n : 1);

    if (p == NULL || fread(p, 1, n, f) != (size_t) n) {
        free(p);
        fclose(f);
        return NULL;
    }

    fclose(f);
    *len = (size_t) n;

    return p;
}


#define SHIPPED  "../../conf/instruments.json"


static char    *shipped;
static size_t   shipped_len;


/* the shipped conf/instruments.json: PHQ-9, GAD-7 and EQ-5D-5L */

static void
test_shipped(void)
{
    int                       rc;
    char                      err[256];
    size_t                    i;
    const epro_item_t        *it;
    epro_instruments_t        set;
    const epro_instrument_t  *in;

    static const struct {
        const char  *code;
        size_t       nitems;
        size_t       nrequired;
        const char  *item;
        double       min;
        double       max;
    } want[] = {
        { "PHQ-9", 10, 9, "PHQ9_1", 0, 3 },
        { "GAD-7", 8, 7, "GAD7_7", 0, 3 },
        { "EQ-5D-5L", 6, 6, "VAS", 0, 100 },
    };

    if (!check(AT, shipped != NULL, "cannot read %s", SHIPPED)) {
        return;
    }

    rc = load(&set, shipped, shipped_len, err, sizeof(err));

    if (!CHECK_INT(SHIPPED, rc, EPRO_OK)) {
        printf("    err: %s\n", err);
        release_all();
        return;
    }

    CHECK_INT("instruments", set.n, 3);

    for (i = 0; i < NELTS(want); i++) {
        in = epro_instrument_find(&set, want[i].code, strlen(want[i].code));

        if (!check(AT, in != NULL, "%s not found", want[i].code)) {
            continue;
        }

        check_int(AT, want[i].code, in->nitems, want[i].nitems);
        check_int(AT, "nrequired", in->nrequired, want[i].nrequired);
        CHECK_INT("allow_unknown", in->allow_unknown, 0);

        it = epro_item_find(in, want[i].item, strlen(want[i].item));

        if (check(AT, it != NULL, "%s not found", want[i].item)) {
            check(AT, it->type == EPRO_ITEM_INTEGER && it->required
                      && it->has_min && it->min == want[i].min
                      && it->has_max && it->max == want[i].max,
                  "%s: the wrong rule", want[i].item);
        }
    }

    in = epro_instrument_find(&set, "PHQ-9", 5);

    if (in) {
        it = epro_item_find(in, "PHQ9_10", 7);
        CHECK(it != NULL && !it->required);
    }

    release_all();
}


/* ------------------------------------------------------------------ */
/* lookups                                                             */


static void
test_lookups(void)
{
    int                       rc;
    char                      err[256];
    epro_instruments_t        set, empty;
    const epro_instrument_t  *in, *in2;

    static const char  text[] =
        "{\"instruments\":["
        "{\"code\":\"PHQ-9\",\"items\":[" IT("PHQ9_1") "," IT("PHQ9_10")
        "," IT("q") "]},"
        "{\"code\":\"phq-9\",\"items\":[" IT("Q") "]},"
        "{\"code\":\"a/b\",\"items\":[" IT("a") "]}]}";

    rc = load(&set, text, sizeof(text) - 1, err, sizeof(err));

    if (!CHECK_INT("load", rc, EPRO_OK)) {
        printf("    err: %s\n", err);
        release_all();
        return;
    }

    in = epro_instrument_find(&set, "PHQ-9", 5);
    CHECK(in == &set.list[0]);
    in2 = epro_instrument_find(&set, "phq-9", 5);
    CHECK(in2 == &set.list[1]);
    CHECK(epro_instrument_find(&set, "a/b", 3) == &set.list[2]);

    /* the length counts, not a NUL */
    CHECK(epro_instrument_find(&set, "PHQ-9 and more", 5) == &set.list[0]);
    CHECK(epro_instrument_find(&set, "PHQ-", 4) == NULL);
    CHECK(epro_instrument_find(&set, "PHQ-9 ", 6) == NULL);
    CHECK(epro_instrument_find(&set, "Phq-9", 5) == NULL);
    CHECK(epro_instrument_find(&set, "PHQ9", 4) == NULL);
    CHECK(epro_instrument_find(&set, "", 0) == NULL);
    CHECK(epro_instrument_find(NULL, "PHQ-9", 5) == NULL);

    memset(&empty, 0, sizeof(empty));
    CHECK(epro_instrument_find(&empty, "PHQ-9", 5) == NULL);

    if (in) {
        CHECK(epro_item_find(in, "PHQ9_1", 6) == &in->items[0]);
        CHECK(epro_item_find(in, "PHQ9_10", 7) == &in->items[1]);
        CHECK(epro_item_find(in, "PHQ9_100", 7) == &in->items[1]);
        CHECK(epro_item_find(in, "q", 1) == &in->items[2]);
        CHECK(epro_item_find(in, "Q", 1) == NULL);
        CHECK(epro_item_find(in, "phq9_1", 6) == NULL);
        CHECK(epro_item_find(in, "PHQ9_", 5) == NULL);
        CHECK(epro_item_find(in, "PHQ9_2", 6) == NULL);
        CHECK(epro_item_find(in, "", 0) == NULL);
    }

    if (in2) {
        CHECK(epro_item_find(in2, "Q", 1) == &in2->items[0]);
        CHECK(epro_item_find(in2, "q", 1) == NULL);
    }

    /* the hash is FNV-1a, 32 bits */
    CHECK(epro_hash("", 0) == 2166136261u);
    CHECK(epro_hash("a", 1) == 0xe40c292cu);

    release_all();
}


/* epro_instruments_index() on a set built by hand */

static void
test_index(void)
{
    char                 err[128];
    epro_item_t          items[3];
    epro_instrument_t    list[2];
    epro_instruments_t   set;

    memset(items, 0, sizeof(items));
    memset(list, 0, sizeof(list));

    items[0].id.data = "x";
    items[0].id.len = 1;
    items[1].id.data = "xy";
    items[1].id.len = 1;            /* "x" again, by length */
    items[2].id.data = "y";
    items[2].id.len = 1;

    list[0].code.data = "A";
    list[0].code.len = 1;
    list[0].items = items;
    list[0].nitems = 3;
    list[1].code.data = "B";
    list[1].code.len = 1;
    list[1].items = items + 2;
    list[1].nitems = 1;

    memset(&set, 0, sizeof(set));
    set.list = list;
    set.n = 2;

    CHECK_INT("index with a duplicate item",
              epro_instruments_index(&set, err, sizeof(err), &conf_alloc),
              EPRO_ERROR);
    CHECK_STR("err", err, "/instruments/0/items/1/id: duplicate item id");

    items[1].id.len = 2;
    memset(&set, 0, sizeof(set));
    set.list = list;
    set.n = 2;

    CHECK_INT("index",
              epro_instruments_index(&set, err, sizeof(err), &conf_alloc),
              EPRO_OK);
    CHECK(epro_instrument_find(&set, "B", 1) == &list[1]);
    CHECK(epro_item_find(&list[0], "xy", 2) == &items[1]);
    CHECK(epro_item_find(&list[1], "x", 1) == NULL);

    release_all();
}


/* ------------------------------------------------------------------ */
/* the rules in epro_parse()                                           */


/* the definitions of the rule tests */

static const char  defs_text[] =
    "{\"instruments\":["
    "{\"code\":\"T\",\"version\":\"1\",\"items\":["
    "{\"id\":\"int\",\"type\":\"integer\",\"min\":0,\"max\":3},"
    "{\"id\":\"dec\",\"type\":\"decimal\",\"min\":-1.5,\"max\":2.5},"
    "{\"id\":\"str\",\"type\":\"string\",\"maxLength\":3},"
    "{\"id\":\"bool\",\"type\":\"boolean\"},"
    "{\"id\":\"ch\",\"type\":\"choice\",\"choices\":[\"a\",\"b\",1,2.5]},"
    "{\"id\":\"multi\",\"type\":\"choice\",\"choices\":[\"x\",\"y\",\"z\"],"
    "\"multiple\":true},"
    "{\"id\":\"date\",\"type\":\"date\"},"
    "{\"id\":\"dt\",\"type\":\"datetime\"},"
    "{\"id\":\"req\",\"type\":\"integer\",\"required\":true},"
    "{\"id\":\"free\",\"type\":\"string\"},"
    "{\"id\":\"any\",\"type\":\"integer\"},"
    "{\"id\":\"nums\",\"type\":\"integer\",\"multiple\":true,\"min\":1,"
    "\"max\":5},"
    "{\"id\":\"a/b\",\"type\":\"boolean\"},"
    "{\"id\":\"x\",\"type\":\"decimal\"}]},"
    "{\"code\":\"OPEN\",\"unknownItems\":\"allow\",\"items\":["
    "{\"id\":\"a\",\"type\":\"integer\",\"required\":true,\"max\":1}]},"
    "{\"code\":\"TWO\",\"items\":["
    "{\"id\":\"r1\",\"type\":\"string\",\"required\":true},"
    "{\"id\":\"o\",\"type\":\"string\"},"
    "{\"id\":\"r2\",\"type\":\"boolean\",\"required\":true}]},"
    "{\"code\":\"ESC\",\"items\":["
    "{\"id\":\"x~/y\",\"type\":\"integer\",\"required\":true}]},"
    "{\"code\":\"BIG\",\"items\":["
    "{\"id\":\"n\",\"type\":\"integer\",\"min\":-1000000,"
    "\"max\":1000000},"
    "{\"id\":\"d\",\"type\":\"decimal\",\"min\":0.001,\"max\":0.25},"
    "{\"id\":\"p\",\"type\":\"decimal\",\"max\":0.3},"
    "{\"id\":\"big\",\"type\":\"integer\",\"max\":999999999999999}]}"
    "]}";


static epro_instruments_t  defs;


/* loads defs_text into the configuration arena, if not yet */

static int
defs_load(void)
{
    int   rc;
    char  err[256];

    if (defs_loaded) {
        return 0;
    }

    rc = load(&defs, defs_text, sizeof(defs_text) - 1, err, sizeof(err));

    if (!CHECK_INT("the rule tests' definitions", rc, EPRO_OK)) {
        printf("    err: %s\n", err);
        return -1;
    }

    defs_loaded = 1;

    return 0;
}


#define NOW_MS  INT64_C(1769842800000)      /* 2026-01-31T07:00:00Z */


static void
req_init(epro_request_t *req, epro_policy_e policy)
{
    /* a pool gives garbage, not zeroes */
    memset(req, 0x5a, sizeof(epro_request_t));
    req->max_submissions = 10;
    req->instruments = &defs;
    req->policy = policy;
    req->now_ms = 0;
    req->skew_ms = -1;
    req->max_age_ms = -1;
}


static int
run(epro_request_t *req, const char *body, size_t len)
{
    return epro_parse(req, exact_copy(body, len), len, &req_alloc);
}


/* one submission of instrument code with these answers and collectedAt */

static void
sb_submission(sb_t *b, const char *code, const char *answers,
    const char *collected)
{
    sb_add(b, "{\"studyId\":\"S\",\"subjectId\":\"P\",\"visitName\":\"V\","
              "\"instrument\":\"");
    sb_add(b, code);
    sb_add(b, "\",\"collectedAt\":");
    sb_add(b, collected);
    sb_add(b, ",\"answers\":");
    sb_add(b, answers);
    sb_add(b, "}");
}


/* the same with a submissionId, collected at a fixed time */

static void
sb_submission_id(sb_t *b, const char *id, const char *code,
    const char *answers)
{
    sb_t  one;

    memset(&one, 0, sizeof(one));
    sb_submission(&one, code, answers, "1769842800");

    sb_add(b, "{\"submissionId\":\"");
    sb_add(b, id);
    sb_add(b, "\",");
    sb_add(b, one.data + 1);
}


typedef struct {
    const char  *path;
    const char  *message;       /* NULL: not compared */
} want_error_t;


/* status, then exactly these errors in this order */

static int
check_errors(const char *file, int line, const epro_request_t *req, int rc,
    int status, const want_error_t *want, size_t nwant)
{
    int     ok;
    size_t  i;

    ok = check_int(file, line, "epro_parse()", rc,
                   status == EPRO_OK ? EPRO_OK : EPRO_ERROR);
    ok &= check_int(file, line, "req.status", req->status, status);
    ok &= check_int(file, line, "req.nerrors", req->nerrors, nwant);

    for (i = 0; i < nwant && i < req->nerrors; i++) {
        ok &= check_str(file, line, "error path", req->errors[i].path,
                        want[i].path);

        if (want[i].message) {
            ok &= check_str(file, line, "error message",
                            req->errors[i].message, want[i].message);
        }
    }

    if (!ok) {
        dump_errors(req);
    }

    return ok;
}


typedef struct {
    int             line;
    epro_policy_e   policy;
    const char     *code;
    const char     *answers;
    int             status;
    want_error_t    errors[3];
} rule_case_t;


#define STRICT  EPRO_POLICY_STRICT
#define KNOWN   EPRO_POLICY_KNOWN
#define OFF     EPRO_POLICY_OFF

/* answers of T with the required item */
#define A(m)    "{\"req\":0," m "}"

#define R_OK(pol, code, ans)                                                \
    { __LINE__, pol, code, ans, EPRO_OK, { { NULL, NULL } } }
#define R_ERR(pol, code, ans, ...)                                          \
    { __LINE__, pol, code, ans, EPRO_STATUS_INVALID, { __VA_ARGS__ } }

/* an error at /answers/id */
#define E(id, msg)  { "/answers/" id, msg }


static const rule_case_t  rule_cases[] = {

    /* integer */
    R_OK(STRICT, "T", A("\"int\":0")),
    R_OK(STRICT, "T", A("\"int\":3")),
    R_OK(STRICT, "T", A("\"int\":-0")),
    R_OK(STRICT, "T", A("\"int\":3.0")),
    R_OK(STRICT, "T", A("\"int\":2e0")),
    R_OK(STRICT, "T", A("\"int\":null")),
    R_OK(STRICT, "T", A("\"int\":[]")),
    R_OK(STRICT, "T", A("\"any\":-123456")),
    R_OK(STRICT, "T", A("\"any\":1e300")),
    R_ERR(STRICT, "T", A("\"int\":4"),
          E("int", "int: 4 is above the maximum 3")),
    R_ERR(STRICT, "T", A("\"int\":7"),
          E("int", "int: 7 is above the maximum 3")),
    R_ERR(STRICT, "T", A("\"int\":1e2"),
          E("int", "int: 100 is above the maximum 3")),
    R_ERR(STRICT, "T", A("\"int\":-1"),
          E("int", "int: -1 is below the minimum 0")),
    R_ERR(STRICT, "T", A("\"int\":1.5"), E("int", "int: must be an integer")),
    R_ERR(STRICT, "T", A("\"int\":3.5"), E("int", "int: must be an integer")),
    R_ERR(STRICT, "T", A("\"int\":0.1"), E("int", "int: must be an integer")),
    R_ERR(STRICT, "T", A("\"int\":\"1\""),
          E("int", "int: must be an integer")),
    R_ERR(STRICT, "T", A("\"int\":true"),
          E("int", "int: must be an integer")),
    R_ERR(STRICT, "T", A("\"int\":[1]"),
          E("int", "int: takes one value, not a list")),
    R_ERR(STRICT, "T", A("\"int\":[null]"),
          E("int", "int: takes one value, not a list")),
    R_ERR(STRICT, "T", A("\"any\":1.25"),
          E("any", "any: must be an integer")),

    /* decimal */
    R_OK(STRICT, "T", A("\"dec\":2.5")),
    R_OK(STRICT, "T", A("\"dec\":-1.5")),
    R_OK(STRICT, "T", A("\"dec\":1")),
    R_OK(STRICT, "T", A("\"dec\":-15e-1")),
    R_OK(STRICT, "T", A("\"x\":-1e300")),
    R_ERR(STRICT, "T", A("\"dec\":2.51"),
          E("dec", "dec: 2.51 is above the maximum 2.5")),
    R_ERR(STRICT, "T", A("\"dec\":-1.6"),
          E("dec", "dec: -1.6 is below the minimum -1.5")),
    R_ERR(STRICT, "T", A("\"dec\":\"2\""), E("dec", "dec: must be a number")),
    R_ERR(STRICT, "T", A("\"dec\":false"), E("dec", "dec: must be a number")),
    R_ERR(STRICT, "T", A("\"dec\":[1,2]"),
          E("dec", "dec: takes one value, not a list")),

    /* string */
    R_OK(STRICT, "T", A("\"str\":\"abc\"")),
    R_OK(STRICT, "T", A("\"str\":\"\"")),
    R_OK(STRICT, "T", A("\"str\":\"\xC3\xA9\xC3\xA9\xC3\xA9\"")),
    R_OK(STRICT, "T", A("\"str\":\"\\u00e9\\u00e9\\ud83d\\ude00\"")),
    R_OK(STRICT, "T", A("\"free\":\"" S64 S64 S64 "\"")),
    R_ERR(STRICT, "T", A("\"str\":\"abcd\""),
          E("str", "str: 4 characters, at most 3 allowed")),
    R_ERR(STRICT, "T", A("\"str\":\"\xC3\xA9\xC3\xA9\xE2\x82\xAC"
                         "\xF0\x9F\x98\x80\""),
          E("str", "str: 4 characters, at most 3 allowed")),
    R_ERR(STRICT, "T", A("\"str\":3"), E("str", "str: must be a string")),
    R_ERR(STRICT, "T", A("\"free\":true"), E("free", "free: must be a string")),
    R_ERR(STRICT, "T", A("\"str\":[\"a\"]"),
          E("str", "str: takes one value, not a list")),

    /* boolean */
    R_OK(STRICT, "T", A("\"bool\":true")),
    R_OK(STRICT, "T", A("\"bool\":false")),
    R_ERR(STRICT, "T", A("\"bool\":0"),
          E("bool", "bool: must be true or false")),
    R_ERR(STRICT, "T", A("\"bool\":\"true\""),
          E("bool", "bool: must be true or false")),

    /* choice: strings and numbers, exactly */
    R_OK(STRICT, "T", A("\"ch\":\"a\"")),
    R_OK(STRICT, "T", A("\"ch\":\"b\"")),
    R_OK(STRICT, "T", A("\"ch\":1")),
    R_OK(STRICT, "T", A("\"ch\":1.0")),
    R_OK(STRICT, "T", A("\"ch\":2.5")),
    R_OK(STRICT, "T", A("\"ch\":25e-1")),
    R_ERR(STRICT, "T", A("\"ch\":\"c\""),
          E("ch", "ch: not one of the 4 choices")),
    R_ERR(STRICT, "T", A("\"ch\":\"A\""),
          E("ch", "ch: not one of the 4 choices")),
    R_ERR(STRICT, "T", A("\"ch\":\"a \""),
          E("ch", "ch: not one of the 4 choices")),
    R_ERR(STRICT, "T", A("\"ch\":\"1\""),
          E("ch", "ch: not one of the 4 choices")),
    R_ERR(STRICT, "T", A("\"ch\":2"),
          E("ch", "ch: not one of the 4 choices")),
    R_ERR(STRICT, "T", A("\"ch\":true"),
          E("ch", "ch: not one of the 4 choices")),
    R_ERR(STRICT, "T", A("\"ch\":[\"a\"]"),
          E("ch", "ch: takes one value, not a list")),

    /* multiple */
    R_OK(STRICT, "T", A("\"multi\":[\"x\"]")),
    R_OK(STRICT, "T", A("\"multi\":[\"x\",\"z\",\"y\"]")),
    R_OK(STRICT, "T", A("\"multi\":[]")),
    R_OK(STRICT, "T", A("\"multi\":null")),
    R_OK(STRICT, "T", A("\"nums\":[1,5,3]")),
    R_ERR(STRICT, "T", A("\"multi\":[\"x\",\"w\"]"),
          E("multi", "multi: not one of the 3 choices")),
    R_ERR(STRICT, "T", A("\"multi\":\"x\""),
          E("multi", "multi: must be a list of values")),
    R_ERR(STRICT, "T", A("\"nums\":3"),
          E("nums", "nums: must be a list of values")),
    R_ERR(STRICT, "T", A("\"nums\":[1,6]"),
          E("nums", "nums: 6 is above the maximum 5")),
    R_ERR(STRICT, "T", A("\"nums\":[0]"),
          E("nums", "nums: 0 is below the minimum 1")),
    R_ERR(STRICT, "T", A("\"nums\":[2,1.5]"),
          E("nums", "nums: must be an integer")),

    /* date */
    R_OK(STRICT, "T", A("\"date\":\"2026-01-31\"")),
    R_OK(STRICT, "T", A("\"date\":\"2024-02-29\"")),
    R_OK(STRICT, "T", A("\"date\":\"2000-02-29\"")),
    R_OK(STRICT, "T", A("\"date\":\"0001-01-01\"")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-02-29\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"1900-02-29\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-04-31\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-13-01\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-00-10\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"0000-01-01\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-1-31\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026/01/31\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-01-31 \""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"2026-01-31T00:00:00Z\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":20260131"),
          E("date", "date: must be a date (YYYY-MM-DD)")),
    R_ERR(STRICT, "T", A("\"date\":\"\""),
          E("date", "date: must be a date (YYYY-MM-DD)")),

    /* datetime */
    R_OK(STRICT, "T", A("\"dt\":\"2026-01-31T08:00:00Z\"")),
    R_OK(STRICT, "T", A("\"dt\":\"2026-01-31t08:00:00z\"")),
    R_OK(STRICT, "T", A("\"dt\":\"2026-01-31T08:00:00.123+01:00\"")),
    R_OK(STRICT, "T", A("\"dt\":\"2024-02-29T23:59:59-05:30\"")),
    R_ERR(STRICT, "T", A("\"dt\":\"2026-01-31\""),
          E("dt", "dt: must be an RFC 3339 date-time")),
    R_ERR(STRICT, "T", A("\"dt\":\"2026-01-31T08:00:00\""),
          E("dt", "dt: must be an RFC 3339 date-time")),
    R_ERR(STRICT, "T", A("\"dt\":\"2026-01-31T24:00:00Z\""),
          E("dt", "dt: must be an RFC 3339 date-time")),
    R_ERR(STRICT, "T", A("\"dt\":\"2026-02-30T08:00:00Z\""),
          E("dt", "dt: must be an RFC 3339 date-time")),
    R_ERR(STRICT, "T", A("\"dt\":\"2026-01-31T08:00:00+0100\""),
          E("dt", "dt: must be an RFC 3339 date-time")),
    R_ERR(STRICT, "T", A("\"dt\":1769846400"),
          E("dt", "dt: must be an RFC 3339 date-time")),

    /* required: missing, null and [] are not answered */
    R_OK(STRICT, "T", "{\"req\":5}"),
    R_ERR(STRICT, "T", "{\"int\":1}", E("req", "req: is required by T")),
    R_ERR(STRICT, "T", "{\"req\":null}",
          E("req", "req: is required by T")),
    R_ERR(STRICT, "T", "{\"req\":[]}", E("req", "req: is required by T")),
    R_ERR(STRICT, "T", "{\"req\":\"0\"}",
          E("req", "req: must be an integer")),
    R_OK(STRICT, "TWO", "{\"r2\":false,\"r1\":\"\"}"),
    R_ERR(STRICT, "TWO", "{\"o\":\"x\"}",
          E("r1", "r1: is required by TWO"),
          E("r2", "r2: is required by TWO")),
    R_ERR(STRICT, "TWO", "{\"r2\":true,\"o\":null}",
          E("r1", "r1: is required by TWO")),

    /* unknown items, ids case-sensitive, paths escaped */
    R_ERR(STRICT, "T", A("\"zzz\":1"), E("zzz", "zzz: not an item of T")),
    R_ERR(STRICT, "T", A("\"Int\":1"), E("Int", "Int: not an item of T")),
    R_ERR(STRICT, "T", A("\"zzz\":null"), E("zzz", "zzz: not an item of T")),
    R_ERR(STRICT, "T", "{\"REQ\":0}",
          E("REQ", "REQ: not an item of T"),
          E("req", "req: is required by T")),
    R_OK(STRICT, "T", A("\"a/b\":true")),
    R_ERR(STRICT, "T", A("\"a/b\":1"),
          { "/answers/a~1b", "a/b: must be true or false" }),
    R_ERR(STRICT, "T", A("\"b/a~\":1"),
          { "/answers/b~1a~0", "b/a~: not an item of T" }),
    R_OK(STRICT, "ESC", "{\"x~/y\":1}"),
    R_ERR(STRICT, "ESC", "{\"x~/y\":null}",
          { "/answers/x~0~1y", "x~/y: is required by ESC" }),
    R_OK(STRICT, "OPEN", "{\"a\":1,\"zzz\":\"anything\",\"A\":[1,2]}"),
    R_ERR(STRICT, "OPEN", "{\"zzz\":1}",
          E("a", "a: is required by OPEN")),
    R_ERR(STRICT, "OPEN", "{\"a\":2,\"b\":3}",
          E("a", "a: 2 is above the maximum 1")),

    /* every error of the instrument at once, in order */
    R_ERR(STRICT, "T", A("\"int\":9,\"zzz\":1,\"bool\":1"),
          E("int", "int: 9 is above the maximum 3"),
          E("zzz", "zzz: not an item of T"),
          E("bool", "bool: must be true or false")),
    R_ERR(STRICT, "T", "{\"int\":9,\"zzz\":1}",
          E("int", "int: 9 is above the maximum 3"),
          E("zzz", "zzz: not an item of T"),
          E("req", "req: is required by T")),

    /* numbers are printed as they are: no rounding, no exponent */
    R_OK(STRICT, "BIG", "{\"n\":1000000,\"d\":0.001}"),
    R_OK(STRICT, "BIG", "{\"n\":-1000000,\"d\":0.25}"),
    R_ERR(STRICT, "BIG", "{\"n\":1234567}",
          E("n", "n: 1234567 is above the maximum 1000000")),
    R_ERR(STRICT, "BIG", "{\"n\":-1000001}",
          E("n", "n: -1000001 is below the minimum -1000000")),
    R_ERR(STRICT, "T", A("\"dec\":2.5000001"),
          E("dec", "dec: 2.5000001 is above the maximum 2.5")),
    R_ERR(STRICT, "BIG", "{\"d\":0.0005}",
          E("d", "d: 0.0005 is below the minimum 0.001")),
    R_ERR(STRICT, "BIG", "{\"d\":0.2501}",
          E("d", "d: 0.2501 is above the maximum 0.25")),

    R_OK(STRICT, "BIG", "{\"p\":0.3,\"big\":999999999999999}"),
    R_ERR(STRICT, "BIG", "{\"p\":0.30000000000000004}",
          E("p", "p: 0.30000000000000004 is above the maximum 0.3")),
    R_ERR(STRICT, "BIG", "{\"big\":1234567890123456}",
          E("big", "big: 1234567890123456 is above the maximum "
                   "999999999999999")),

    /* the policy */
    R_ERR(STRICT, "NOPE", "{\"q\":1}",
          { "/instrument", "unknown instrument \"NOPE\"" }),
    R_ERR(STRICT, "t", A("\"int\":1"),
          { "/instrument", "unknown instrument \"t\"" }),
    R_ERR(STRICT, "T ", A("\"int\":1"),
          { "/instrument", "unknown instrument \"T \"" }),
    R_OK(KNOWN, "NOPE", "{\"q\":1}"),
    R_OK(KNOWN, "t", "{\"int\":99}"),
    R_OK(KNOWN, "T", A("\"int\":1")),
    R_ERR(KNOWN, "T", A("\"int\":7"),
          E("int", "int: 7 is above the maximum 3")),
    R_ERR(KNOWN, "T", "{\"zzz\":1}",
          E("zzz", "zzz: not an item of T"),
          E("req", "req: is required by T")),
    R_OK(OFF, "NOPE", "{\"q\":1}"),
    R_OK(OFF, "T", "{\"int\":7,\"zzz\":1,\"bool\":\"x\"}"),
    R_OK(OFF, "TWO", "{\"o\":null}"),
};


static void
test_rule_case(const rule_case_t *c)
{
    int              rc;
    sb_t             b;
    size_t           n;
    epro_request_t   req;

    for (n = 0; n < NELTS(c->errors) && c->errors[n].path; n++) {
        /* void */
    }

    memset(&b, 0, sizeof(b));
    sb_submission(&b, c->code, c->answers, "\"2026-01-31T07:00:00Z\"");

    req_init(&req, c->policy);
    rc = run(&req, b.data, b.len);

    if (!check_errors(__FILE__, c->line, &req, rc, c->status, c->errors, n))
    {
        printf("    body: %s\n", b.data);
    }

    arena_release(&req_arena);
}


/* the shipped PHQ-9 through epro_parse() */

static void
test_shipped_rules(void)
{
    int                  rc;
    char                 err[256];
    sb_t                 b;
    epro_request_t       req;
    epro_instruments_t   set;

    static const want_error_t  above[] = {
        { "/answers/PHQ9_3", "PHQ9_3: 7 is above the maximum 3" }
    };

    static const want_error_t  missing[] = {
        { "/answers/PHQ9_8", "PHQ9_8: is required by PHQ-9" },
        { "/answers/PHQ9_9", "PHQ9_9: is required by PHQ-9" }
    };

    static const want_error_t  unknown[] = {
        { "/instrument", "unknown instrument \"PHQ-8\"" }
    };

    if (shipped == NULL) {
        return;
    }

    rc = load(&set, shipped, shipped_len, err, sizeof(err));
    if (!CHECK_INT(SHIPPED, rc, EPRO_OK)) {
        release_all();
        return;
    }

#define PHQ9_1_7  "\"PHQ9_1\":0,\"PHQ9_2\":1,\"PHQ9_4\":3,\"PHQ9_5\":0," \
                  "\"PHQ9_6\":1,\"PHQ9_7\":2"

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "PHQ-9", "{" PHQ9_1_7 ",\"PHQ9_3\":2,\"PHQ9_8\":3,"
                  "\"PHQ9_9\":0,\"PHQ9_10\":1}", "\"2026-01-31T07:00:00Z\"");
    req_init(&req, STRICT);
    req.instruments = &set;
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_OK, NULL, 0);

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "PHQ-9", "{" PHQ9_1_7 ",\"PHQ9_3\":7,\"PHQ9_8\":3,"
                  "\"PHQ9_9\":0}", "\"2026-01-31T07:00:00Z\"");
    req_init(&req, STRICT);
    req.instruments = &set;
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, above, NELTS(above));

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "PHQ-9", "{" PHQ9_1_7 ",\"PHQ9_3\":2}",
                  "\"2026-01-31T07:00:00Z\"");
    req_init(&req, KNOWN);
    req.instruments = &set;
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, missing, NELTS(missing));

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "PHQ-8", "{\"PHQ8_1\":1}", "\"2026-01-31T07:00:00Z\"");
    req_init(&req, STRICT);
    req.instruments = &set;
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, unknown, NELTS(unknown));

    release_all();
}


/* the instrument is checked only where the contract holds */

static void
test_rules_and_contract(void)
{
    int              rc;
    sb_t             b;
    const char      *body;
    epro_request_t   req;

    static const want_error_t  contract_only[] = {
        { "/siteId", "must be a string" }
    };

    static const want_error_t  each[] = {
        { "/0/siteId", "must be a string" },
        { "/1/answers/int", "int: 7 is above the maximum 3" },
        { "/2/instrument", "unknown instrument \"NOPE\"" }
    };

    static const want_error_t  bad_answer[] = {
        { "/answers/int", NULL }
    };

    static const want_error_t  dups[] = {
        { "/0/instrument", "unknown instrument \"NOPE\"" },
        { "/1/answers/int", "int: 7 is above the maximum 3" },
        { "/3/submissionId", NULL },
        { "/4/submissionId", NULL },
        { "/1/submissionId", "the same submissionId as /0" },
        { "/2/submissionId", "the same submissionId as /0" }
    };

    if (defs_load() != 0) {
        return;
    }

    /* a contract error: the instrument's rules are not looked at */

    body = "{\"studyId\":\"S\",\"siteId\":1,\"subjectId\":\"P\","
             "\"visitName\":\"V\",\"instrument\":\"T\","
             "\"collectedAt\":\"2026-01-31T07:00:00Z\","
             "\"answers\":{\"int\":7,\"zzz\":1}}";
    req_init(&req, STRICT);
    rc = run(&req, body, strlen(body));
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, contract_only,
                 NELTS(contract_only));

    body = "{\"studyId\":\"S\",\"siteId\":1,\"subjectId\":\"P\","
             "\"visitName\":\"V\",\"instrument\":\"NOPE\","
             "\"collectedAt\":\"2026-01-31T07:00:00Z\","
             "\"answers\":{\"q\":1}}";
    req_init(&req, STRICT);
    rc = run(&req, body, strlen(body));
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, contract_only,
                 NELTS(contract_only));

    /* an answer the contract refuses (an object) */

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "T", "{\"int\":{}}", "\"2026-01-31T07:00:00Z\"");
    req_init(&req, STRICT);
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, bad_answer,
                 NELTS(bad_answer));

    /* in a batch, each submission on its own */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[{\"studyId\":\"S\",\"siteId\":1,\"subjectId\":\"P\","
               "\"visitName\":\"V\",\"instrument\":\"NOPE\","
               "\"collectedAt\":\"2026-01-31T07:00:00Z\","
               "\"answers\":{\"int\":7}},");
    sb_submission(&b, "T", A("\"int\":7"), "\"2026-01-31T07:00:00Z\"");
    sb_add(&b, ",");
    sb_submission(&b, "NOPE", "{\"q\":1}", "\"2026-01-31T07:00:00Z\"");
    sb_add(&b, ",");
    sb_submission(&b, "T", A("\"int\":3"), "\"2026-01-31T07:00:00Z\"");
    sb_add(&b, "]");

    req_init(&req, STRICT);
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, each, NELTS(each));

    /*
     * Repeated submissionIds are reported beside the rules' errors, and
     * beside an id that is not a UUID but shares a valid one's first part
     * (test/fuzz/RESULTS.md, issue 16)
     */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[{\"submissionId\":\"" DUP_ID "\",");
    sb_add(&b, "\"instrument\":\"NOPE\",\"studyId\":\"S\","
               "\"subjectId\":\"P\",\"visitName\":\"V\","
               "\"collectedAt\":1769842800,\"answers\":{\"q\":1}},");
    sb_submission_id(&b, DUP_ID, "T", A("\"int\":7"));
    sb_add(&b, ",");
    sb_submission_id(&b, DUP_ID_UPPER, "T", A("\"int\":3"));
    sb_add(&b, ",");
    sb_submission_id(&b, "0b8d5d3e-1a2b-zzzz", "T", A("\"int\":3"));
    sb_add(&b, ",");
    sb_submission_id(&b, "0b8d5d3e-1a2b-zzzz", "T", A("\"int\":3"));
    sb_add(&b, "]");

    req_init(&req, STRICT);
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, dups, NELTS(dups));

    /* a valid batch */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[");
    sb_submission(&b, "T", A("\"int\":3"), "\"2026-01-31T07:00:00Z\"");
    sb_add(&b, ",");
    sb_submission(&b, "OPEN", "{\"a\":0}", "1769842800");
    sb_add(&b, "]");

    req_init(&req, STRICT);
    rc = run(&req, b.data, b.len);

    if (check_errors(AT, &req, rc, EPRO_OK, NULL, 0)) {
        CHECK_INT("nsubs", req.nsubs, 2);
    }

    /* no definitions at all: strict refuses every instrument */

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "T", A("\"int\":3"), "\"2026-01-31T07:00:00Z\"");
    req_init(&req, STRICT);
    req.instruments = NULL;
    rc = run(&req, b.data, b.len);
    CHECK_INT("strict without definitions", outcome(rc, &req),
                  EPRO_STATUS_INVALID);

    req_init(&req, KNOWN);
    req.instruments = NULL;
    rc = run(&req, b.data, b.len);
    CHECK_INT("known without definitions", rc, EPRO_OK);

    arena_release(&req_arena);
}


/* ------------------------------------------------------------------ */
/* the clock                                                           */


typedef struct {
    int           line;
    const char   *collected;    /* JSON text */
    int64_t       now_ms;
    int64_t       skew_ms;
    int64_t       max_age_ms;
    int           status;
    const char   *message;      /* NULL: not compared */
} clock_case_t;


#define MIN5   INT64_C(300000)
#define DAY1   INT64_C(86400000)
#define INV    EPRO_STATUS_INVALID

#define CK(c, now, skew, age, st, msg)                                      \
    { __LINE__, c, now, skew, age, st, msg }
#define AHEAD  "is "
#define OLDER  "is older than the 86400 s accepted"


static const clock_case_t  clock_cases[] = {

    /* the skew, at the boundary, in any offset or as Unix seconds */
    CK("\"2026-01-31T07:00:00Z\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("\"2026-01-31T07:05:00Z\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("\"2026-01-31T07:05:00.000Z\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("\"2026-01-31T07:05:00.001Z\"", NOW_MS, MIN5, -1, INV,
       NULL),
    CK("\"2026-01-31T07:05:01Z\"", NOW_MS, MIN5, -1, INV,
       "is 301 s ahead of the server's clock, more than the 300 s "
       "allowed"),
    CK("\"2026-01-31T08:05:00+01:00\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("\"2026-01-31T08:05:01+01:00\"", NOW_MS, MIN5, -1, INV,
       NULL),
    CK("\"2026-01-31T02:05:00-05:00\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("\"2026-01-31T02:05:00.5-05:00\"", NOW_MS, MIN5, -1, INV,
       NULL),
    CK("\"2026-02-01T00:00:00+15:00\"", NOW_MS, MIN5, -1, INV,
       NULL),
    CK("1769843100", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("1769843101", NOW_MS, MIN5, -1, INV, NULL),
    CK("\"2026-01-31T17:00:00Z\"", NOW_MS, MIN5, -1, INV,
       "is 36000 s ahead of the server's clock, more than the 300 s "
       "allowed"),
    CK("\"2000-01-01T00:00:00Z\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("0", NOW_MS, MIN5, -1, EPRO_OK, NULL),

    /* a skew of 0: now is the limit */
    CK("\"2026-01-31T07:00:00Z\"", NOW_MS, 0, -1, EPRO_OK, NULL),
    CK("\"2026-01-31T07:00:00.001Z\"", NOW_MS, 0, -1, INV, NULL),

    /* skew off */
    CK("\"9999-12-31T23:59:59Z\"", NOW_MS, -1, -1, EPRO_OK, NULL),
    CK("253402300799", NOW_MS, -1, -1, EPRO_OK, NULL),

    /* the age, at the boundary */
    CK("\"2026-01-30T07:00:00Z\"", NOW_MS, MIN5, DAY1, EPRO_OK, NULL),
    CK("\"2026-01-30T06:59:59.999Z\"", NOW_MS, MIN5, DAY1, INV,
       OLDER),
    CK("\"2026-01-30T06:59:59Z\"", NOW_MS, MIN5, DAY1, INV,
       OLDER),
    CK("\"2026-01-30T08:00:00+01:00\"", NOW_MS, MIN5, DAY1, EPRO_OK, NULL),
    CK("\"2026-01-30T07:59:59+01:00\"", NOW_MS, MIN5, DAY1, INV,
       OLDER),
    CK("1769756400", NOW_MS, MIN5, DAY1, EPRO_OK, NULL),
    CK("1769756399", NOW_MS, MIN5, DAY1, INV, OLDER),
    CK("\"2026-01-28T07:00:00Z\"", NOW_MS, MIN5, DAY1, INV, OLDER),
    CK("\"2026-01-31T07:05:00Z\"", NOW_MS, MIN5, DAY1, EPRO_OK, NULL),
    CK("\"2026-01-31T07:05:01Z\"", NOW_MS, MIN5, DAY1, INV, NULL),

    /* an age of 0: nothing before now */
    CK("\"2026-01-31T07:00:00Z\"", NOW_MS, 0, 0, EPRO_OK, NULL),
    CK("\"2026-01-31T06:59:59.999Z\"", NOW_MS, 0, 0, INV,
       "is older than the 0 s accepted"),

    /* age off */
    CK("\"1970-01-01T00:00:00Z\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("\"0001-01-01T00:00:00Z\"", NOW_MS, MIN5, -1, EPRO_OK, NULL),
    CK("0", NOW_MS, 0, -1, EPRO_OK, NULL),

    /* now_ms 0: no clock checks at all */
    CK("\"9999-12-31T23:59:59Z\"", 0, 0, 0, EPRO_OK, NULL),
    CK("\"0001-01-01T00:00:00Z\"", 0, 0, 0, EPRO_OK, NULL),
    CK("\"2026-01-31T07:05:01Z\"", 0, MIN5, DAY1, EPRO_OK, NULL),
};


static void
test_clock_case(const clock_case_t *c)
{
    int              rc;
    sb_t             b;
    want_error_t     want;
    epro_request_t   req;
    epro_policy_e    policies[] = { OFF, STRICT };
    size_t           i;

    want.path = "/collectedAt";
    want.message = c->message;

    for (i = 0; i < NELTS(policies); i++) {
        memset(&b, 0, sizeof(b));
        sb_submission(&b, "T", A("\"int\":1"), c->collected);

        req_init(&req, policies[i]);
        req.now_ms = c->now_ms;
        req.skew_ms = c->skew_ms;
        req.max_age_ms = c->max_age_ms;

        rc = run(&req, b.data, b.len);

        if (!check_errors(__FILE__, c->line, &req, rc, c->status, &want,
                          c->status == EPRO_OK ? 0 : 1))
        {
            printf("    collectedAt %s, policy %d\n", c->collected,
                   (int) policies[i]);
        }

        arena_release(&req_arena);
    }
}


/* the clock with the other checks */

static void
test_clock_more(void)
{
    int              rc;
    sb_t             b;
    const char      *body;
    epro_request_t   req;

    static const want_error_t  contract_only[] = {
        { "/studyId", "is required" }
    };

    static const want_error_t  both[] = {
        { "/collectedAt", NULL },
        { "/answers/int", "int: 7 is above the maximum 3" }
    };

    static const want_error_t  batch[] = {
        { "/1/collectedAt", "is older than the 86400 s accepted" },
        { "/2/collectedAt", NULL }
    };

    if (defs_load() != 0) {
        return;
    }

    /* a contract error: the clock is not looked at */

    body = "{\"subjectId\":\"P\",\"visitName\":\"V\",\"instrument\":\"T\","
             "\"collectedAt\":\"2027-01-31T07:00:00Z\","
             "\"answers\":{\"req\":1}}";
    req_init(&req, STRICT);
    req.now_ms = NOW_MS;
    req.skew_ms = 0;
    req.max_age_ms = 0;
    rc = run(&req, body, strlen(body));
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, contract_only,
                 NELTS(contract_only));

    /* the clock and the instrument are both reported */

    memset(&b, 0, sizeof(b));
    sb_submission(&b, "T", A("\"int\":7"), "\"2027-01-31T07:00:00Z\"");
    req_init(&req, STRICT);
    req.now_ms = NOW_MS;
    req.skew_ms = MIN5;
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, both, NELTS(both));

    /* each submission of a batch */

    memset(&b, 0, sizeof(b));
    sb_add(&b, "[");
    sb_submission(&b, "T", A("\"int\":1"), "\"2026-01-31T06:00:00Z\"");
    sb_add(&b, ",");
    sb_submission(&b, "T", A("\"int\":1"), "\"2026-01-01T06:00:00Z\"");
    sb_add(&b, ",");
    sb_submission(&b, "NOPE", "{\"q\":1}", "\"2026-02-01T07:00:00Z\"");
    sb_add(&b, "]");

    req_init(&req, KNOWN);
    req.now_ms = NOW_MS;
    req.skew_ms = MIN5;
    req.max_age_ms = DAY1;
    rc = run(&req, b.data, b.len);
    check_errors(AT, &req, rc, EPRO_STATUS_INVALID, batch, NELTS(batch));

    arena_release(&req_arena);
}


/* ------------------------------------------------------------------ */
/* many answers                                                        */


static void
test_many(void)
{
    int                  rc;
    char                 err[256];
    sb_t                 d, b;
    double               ms;
    size_t               i, k;
    epro_request_t       req;
    struct timespec      t0;
    epro_instruments_t   set;

    memset(&d, 0, sizeof(d));
    sb_add(&d, "{\"instruments\":[{\"code\":\"BIG\",\"items\":[");

    for (i = 0; i < EPRO_MAX_ANSWERS; i++) {
        sb_addf(&d, "%s{\"id\":\"item_%lu\",\"type\":\"integer\","
                "\"min\":0,\"max\":9,\"required\":true}",
                i ? "," : "", (unsigned long) i);
    }

    sb_add(&d, "]}]}");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = load(&set, d.data, d.len, err, sizeof(err));
    ms = ms_since(&t0);

    if (!CHECK_INT("load 1000 items", rc, EPRO_OK)) {
        printf("    err: %s\n", err);
        release_all();
        return;
    }

    check(AT, ms < 50, "loading 1000 items took %.1f ms", ms);

    /* k = 0: all valid; 1: every answer above the maximum; 2: 999 of them
     * (the first missing) */

    for (k = 0; k < 3; k++) {
        memset(&b, 0, sizeof(b));
        sb_add(&b, "{\"studyId\":\"S\",\"subjectId\":\"P\","
                   "\"visitName\":\"V\",\"instrument\":\"BIG\","
                   "\"collectedAt\":\"2026-01-31T07:00:00Z\","
                   "\"answers\":{");

        /* in reverse order, to be sure nothing depends on it */

        for (i = EPRO_MAX_ANSWERS; i-- > (k == 2 ? 1 : 0); /* void */ ) {
            sb_addf(&b, "\"item_%lu\":%lu%s", (unsigned long) i,
                    (unsigned long) (k == 1 ? 10 + i : i % 10),
                    i > (k == 2 ? 1u : 0u) ? "," : "");
        }

        sb_add(&b, "}}");

        req_init(&req, STRICT);
        req.instruments = &set;
        req.now_ms = NOW_MS;
        req.skew_ms = MIN5;
        req.max_age_ms = DAY1;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = run(&req, b.data, b.len);
        ms = ms_since(&t0);

        check(AT, ms < 50, "1000 answers (%lu) took %.1f ms",
              (unsigned long) k, ms);

        if (k == 0) {
            if (CHECK_INT("1000 valid answers", rc, EPRO_OK)) {
                CHECK_INT("nerrors", req.nerrors, 0);
            } else {
                dump_errors(&req);
            }

        } else if (k == 1) {
            CHECK_INT("1000 invalid answers", outcome(rc, &req),
                  EPRO_STATUS_INVALID);
            CHECK_INT("nerrors", req.nerrors, EPRO_MAX_ERRORS);
            CHECK_INT("truncated", req.truncated, 1);

            if (req.nerrors) {
                CHECK_STR("first path", req.errors[0].path,
                          "/answers/item_999");
                CHECK_STR("first message", req.errors[0].message,
                          "item_999: 1009 is above the maximum 9");
            }

        } else {
            CHECK_INT("999 answers", outcome(rc, &req),
                  EPRO_STATUS_INVALID);

            if (CHECK_INT("nerrors", req.nerrors, 1)) {
                CHECK_STR("path", req.errors[0].path, "/answers/item_0");
                CHECK_STR("message", req.errors[0].message,
                          "item_0: is required by BIG");
            }
        }

        arena_release(&req_arena);
    }

    release_all();
}


/* ------------------------------------------------------------------ */
/* out of memory                                                       */


static void
test_nomem(void)
{
    int                  rc;
    char                 err[256];
    long                 k;
    sb_t                 b;
    epro_request_t       req;
    epro_instruments_t   set;

    /* loading: -1 with "out of memory" until memory suffices */

    if (shipped) {
        for (k = 0; k < 100000; k++) {
            conf_arena.fail_after = k;
            rc = load(&set, shipped, shipped_len, err, sizeof(err));
            conf_arena.fail_after = -1;

            if (rc == EPRO_OK) {
                break;
            }

            if (!check_loop(AT, rc == EPRO_NOMEM
                                && strcmp(err, "out of memory") == 0,
                            "allocation %ld refused: rc %d, err \"%s\"",
                            k, rc, err))
            {
                break;
            }

            release_all();
        }

        CHECK_INT("load once memory suffices", rc, EPRO_OK);
        release_all();
    }

    /* parsing with instruments: EPRO_NOMEM, then the right answer */

    if (defs_load() != 0) {
        return;
    }

    for (k = 0; k < 100000; k++) {
        memset(&b, 0, sizeof(b));
        sb_add(&b, "[");
        sb_submission(&b, "T", "{\"int\":7,\"zzz\":1}",
                      "\"2027-01-31T07:00:00Z\"");
        sb_add(&b, ",");
        sb_submission(&b, "NOPE", "{\"q\":1}", "\"2026-01-31T07:00:00Z\"");
        sb_add(&b, "]");

        req_init(&req, STRICT);
        req.now_ms = NOW_MS;
        req.skew_ms = MIN5;

        req_arena.fail_after = (long) req_arena.nallocs + k;
        rc = run(&req, b.data, b.len);
        req_arena.fail_after = -1;

        if (rc != EPRO_NOMEM) {
            break;
        }

        arena_release(&req_arena);
    }

    CHECK_INT("parse once memory suffices", outcome(rc, &req),
                  EPRO_STATUS_INVALID);
    CHECK_INT("nerrors", req.nerrors, 5);

    release_all();
}


/* ------------------------------------------------------------------ */


/*
 * Found by the fuzzer: past EPRO_MAX_ERRORS a submission without valid
 * answers was taken for one whose contract holds, and its instrument was
 * checked with no answers object (a NULL dereference).
 */

static void
test_truncated(void)
{
    int             rc;
    size_t          i, p;
    epro_request_t  req;

    static const char *const  bodies[] = {
        "[{\"x\":0},{\"x\":0},{\"x\":0},{\"instrument\":\"T\"}]",
        "[{\"x\":0},{\"x\":0},{\"x\":0},"
        "{\"instrument\":\"T\",\"answers\":[1]}]",
        "[{\"x\":0},{\"x\":0},{\"x\":0},"
        "{\"instrument\":\"T\",\"answers\":1}]",
    };

    static const epro_policy_e  policies[] = {
        EPRO_POLICY_STRICT, EPRO_POLICY_KNOWN
    };

    if (defs_load() != 0) {
        return;
    }

    for (i = 0; i < NELTS(bodies); i++) {
        for (p = 0; p < NELTS(policies); p++) {
            req_init(&req, policies[p]);
            rc = run(&req, bodies[i], strlen(bodies[i]));

            CHECK_INT("truncated: rc", outcome(rc, &req),
                  EPRO_STATUS_INVALID);
            CHECK_INT("truncated: nerrors", (long) req.nerrors,
                      EPRO_MAX_ERRORS);
            CHECK_INT("truncated: truncated", req.truncated, 1);
        }
    }
}


int
main(void)
{
    size_t  i;

    harness_init("test_instr", &req_arena, 200);

    shipped = read_file(SHIPPED, &shipped_len);

    for (i = 0; i < NELTS(load_cases); i++) {
        test_load_case(&load_cases[i]);
        release_all();
    }

    test_load_fields();
    test_load_small_err();
    test_load_limits();
    test_shipped();
    test_lookups();
    test_index();

    if (defs_load() == 0) {
        for (i = 0; i < NELTS(rule_cases); i++) {
            test_rule_case(&rule_cases[i]);
        }
    }

    test_shipped_rules();
    test_rules_and_contract();
    release_all();

    if (defs_load() == 0) {
        for (i = 0; i < NELTS(clock_cases); i++) {
            test_clock_case(&clock_cases[i]);
        }
    }

    test_clock_more();
    release_all();

    test_many();
    test_truncated();
    test_nomem();

    release_all();
    free(shipped);

    return harness_report();
}
