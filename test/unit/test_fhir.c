
/*
 * Unit tests for the FHIR R4 intake of the core: SHA-1 and v5 UUIDs
 * (src/core/epro_sha1.c), Questionnaires (epro_fhir_q.c) and
 * QuestionnaireResponses (epro_fhir.c).  No nginx.
 *
 * Build and run from this directory ("make test" builds and runs it with
 * the others; "make asan" under ASan and UBSan):
 *
 *   cc -std=c99 -Wall -Wextra -Werror -g -I../../src/core \
 *       ../../src/core/epro_*.c harness.c test_fhir.c -lm \
 *       -o test_fhir
 *   ./test_fhir
 *
 * It reads the shipped Questionnaires of ../../conf/fhir/ and the
 * response fixture fhir/phq-9-response.json.
 *
 * As in test_instr.c, the Questionnaires live in conf_arena (a
 * configuration pool) and the responses in req_arena (a request pool),
 * both like nginx's pools: free is a no-op, new memory is garbage, and
 * texts are passed without a NUL after them.  The last line is
 * "N passed, M failed".
 */


#define _POSIX_C_SOURCE  200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "epro_core.h"
#include "epro_fhir.h"
#include "harness.h"


static arena_t       conf_arena = ARENA_INIT;
static arena_t       req_arena = ARENA_INIT;

static epro_alloc_t  conf_alloc = { arena_alloc, arena_free, &conf_arena };
static epro_alloc_t  req_alloc = { arena_alloc, arena_free, &req_arena };


/* ------------------------------------------------------------------ */
/* helpers                                                             */


static char *
read_file(const char *name, size_t *len)
{
    long   n;
    char  *p;
    FILE  *f;

    f = fopen(name, "rb");
    if (f == NULL) {
        fprintf(stderr, "test_fhir: cannot open %s (run from test/unit)\n",
                name);
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = test_alloc((size_t) n + 1);

    if (fread(p, 1, (size_t) n, f) != (size_t) n) {
        fprintf(stderr, "test_fhir: cannot read %s\n", name);
        exit(2);
    }

    fclose(f);
    p[n] = '\0';
    *len = (size_t) n;

    return p;
}


static int
load(epro_fhir_set_t *set, const char *text, char *err, size_t errlen)
{
    size_t  len;

    len = strlen(text);
    memset(err, 0, errlen);

    return epro_fhir_load(set, exact_copy(text, len), len, err, errlen,
                          &conf_alloc);
}


static int
parse(epro_fhir_request_t *req, const epro_fhir_set_t *set,
    const char *body)
{
    size_t  len;

    memset(req, 0x5a, sizeof(epro_fhir_request_t));
    req->set = set;
    req->bundle = NULL;
    len = strlen(body);

    return epro_fhir_parse(req, exact_copy(body, len), len, &req_alloc);
}


/* an issue with that expression whose message holds that text */

static int
has_issue(const epro_fhir_request_t *req, const char *expr,
    const char *code, const char *text)
{
    size_t  i;

    for (i = 0; i < req->nissues; i++) {
        if (strcmp(req->issues[i].expression, expr) == 0
            && (code == NULL || strcmp(req->issues[i].code, code) == 0)
            && strstr(req->issues[i].message, text) != NULL)
        {
            return 1;
        }
    }

    return 0;
}


static void
dump_issues(const epro_fhir_request_t *req)
{
    size_t  i;

    for (i = 0; i < req->nissues; i++) {
        printf("    issue %s [%s]: %s\n", req->issues[i].expression,
               req->issues[i].code, req->issues[i].message);
    }
}


static int
check_mem_str(const char *file, int line, const char *what,
    const epro_str_t *got, const char *want)
{
    if (want == NULL) {
        return check(file, line, got->data == NULL, "%s: want absent",
                     what);
    }

    if (got->data == NULL) {
        return check(file, line, 0, "%s: absent, want \"%s\"", what, want);
    }

    return check_mem(file, line, what, got->data, got->len, want,
                     strlen(want));
}


/* the classes of failure in req.status, short for the tables */
#define S400  EPRO_STATUS_BAD_JSON
#define S422  EPRO_STATUS_INVALID


#define CHECK_S(what, got, want)  check_mem_str(AT, what, &(got), want)


/* ------------------------------------------------------------------ */
/* SHA-1 and v5 UUIDs                                                  */


static void
hex(char *out, const unsigned char *md, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", md[i]);
    }
}


static void
test_sha1(void)
{
    char           out[41], *a;
    size_t         i;
    epro_sha1_t    ctx;
    unsigned char  md[20];

    /* RFC 3174 section 7.3: TEST1 to TEST4 */

    static const struct {
        const char  *text;
        size_t       repeat;
        const char  *want;
    } v[] = {
        { "abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
        { "a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
        { "01234567012345670123456701234567"
          "01234567012345670123456701234567", 10,
          "dea356a2cddd90c7a7ecedc5ebb563934f460452" },
        { "", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
    };

    for (i = 0; i < NELTS(v); i++) {
        size_t  k;

        epro_sha1_init(&ctx);

        for (k = 0; k < v[i].repeat; k++) {
            epro_sha1_update(&ctx, v[i].text, strlen(v[i].text));
        }

        epro_sha1_final(&ctx, md);
        hex(out, md, 20);
        CHECK_STR("sha1", out, v[i].want);
    }

    /* the same bytes in one call, and in pieces of every size */

    a = test_alloc(1000);
    memset(a, 'a', 1000);

    for (i = 1; i <= 130; i++) {
        size_t  k, n;

        epro_sha1_init(&ctx);

        for (k = 0; k < 1000; k += n) {
            n = (1000 - k < i) ? 1000 - k : i;
            epro_sha1_update(&ctx, a + k, n);
        }

        epro_sha1_final(&ctx, md);
        hex(out, md, 20);
        check_loop(AT, strcmp(out, "291e9a6c66994949b57ba5e650361e98"
                                   "fc36b1ba") == 0,
                   "sha1 of 1000 a in pieces of %lu: %s",
                   (unsigned long) i, out);
    }
}


static void
test_uuid_v5(void)
{
    char  out[EPRO_UUID_LEN + 1];

    /* Python's uuid.uuid5(uuid.NAMESPACE_DNS, ...) */

    CHECK_INT("v5", epro_uuid_v5(out, "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                                 "python.org", 10), EPRO_OK);
    CHECK_STR("v5 python.org", out, "886313e1-3b8a-5372-9b90-0c9aee199e5d");

    CHECK_INT("v5", epro_uuid_v5(out, "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
                                 "www.example.com", 15), EPRO_OK);
    CHECK_STR("v5 www.example.com", out,
              "2ed6657d-e927-568b-95e1-2665a8aea6a2");

    CHECK_INT("v5", epro_uuid_v5(out, EPRO_FHIR_NAMESPACE,
                                 "https://app.example.org/fhir/qr-id|ABC-123",
                                 42), EPRO_OK);
    CHECK_STR("v5 ours", out, "3c60d0ce-378e-55e3-9e57-c5c303fbfba2");

    CHECK_INT("v5 bad namespace", epro_uuid_v5(out, "not-a-uuid", "x", 1),
              EPRO_ERROR);
}


/* ------------------------------------------------------------------ */
/* Questionnaires                                                      */


#define QX(items)                                                           \
    "{\"resourceType\":\"Questionnaire\",\"url\":\"http://t/x\","           \
    "\"item\":[" items "]}"

#define ORD(w)                                                              \
    "\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/"   \
    "ordinalValue\",\"valueDecimal\":" #w "}]"

#define EXT(name, value)                                                    \
    "{\"url\":\"http://hl7.org/fhir/StructureDefinition/" name "\","        \
    value "}"

#define CALC(expr)                                                          \
    "{\"url\":\"http://hl7.org/fhir/uv/sdc/StructureDefinition/"           \
    "sdc-questionnaire-calculatedExpression\",\"valueExpression\":"        \
    "{\"language\":\"text/fhirpath\",\"expression\":\"" expr "\"}}"


/* every type and rule; the responses of the rule tests answer it */

static const char  test_q[] =
    "{\"resourceType\":\"Questionnaire\",\"url\":\"http://t/q\","
    "\"version\":\"1\",\"item\":["
    "{\"linkId\":\"b\",\"type\":\"boolean\",\"required\":true,"
    "\"text\":\"B?\"},"
    "{\"linkId\":\"g\",\"type\":\"group\",\"required\":true,"
    "\"repeats\":true,\"item\":["
    "{\"linkId\":\"g1\",\"type\":\"integer\",\"required\":true},"
    "{\"linkId\":\"g2\",\"type\":\"choice\",\"answerOption\":["
    "{\"valueCoding\":{\"system\":\"http://s\",\"code\":\"a\"},"
    "\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/"
    "itemWeight\",\"valueDecimal\":0.5}]}]}]},"
    "{\"linkId\":\"d\",\"type\":\"decimal\",\"extension\":["
    EXT("minValue", "\"valueDecimal\":0.5") ","
    EXT("maxValue", "\"valueDecimal\":9.5") ","
    EXT("maxDecimalPlaces", "\"valueInteger\":1") "]},"
    "{\"linkId\":\"i\",\"type\":\"integer\",\"extension\":["
    EXT("minValue", "\"valueInteger\":0") ","
    EXT("maxValue", "\"valueInteger\":10") "]},"
    "{\"linkId\":\"dt\",\"type\":\"date\",\"extension\":["
    EXT("minValue", "\"valueDate\":\"2020-01-01\"") "]},"
    "{\"linkId\":\"ts\",\"type\":\"dateTime\"},"
    "{\"linkId\":\"tm\",\"type\":\"time\"},"
    "{\"linkId\":\"s\",\"type\":\"string\",\"maxLength\":5},"
    "{\"linkId\":\"tx\",\"type\":\"text\"},"
    "{\"linkId\":\"u\",\"type\":\"url\"},"
    "{\"linkId\":\"c\",\"type\":\"choice\",\"repeats\":true,"
    "\"answerOption\":["
    "{\"valueCoding\":{\"system\":\"http://s\",\"code\":\"a\"}," ORD(1) "},"
    "{\"valueCoding\":{\"system\":\"http://s\",\"code\":\"b\"," ORD(2)
    "}}]},"
    "{\"linkId\":\"ci\",\"type\":\"choice\",\"answerOption\":["
    "{\"valueInteger\":1},{\"valueInteger\":2}]},"
    "{\"linkId\":\"oc\",\"type\":\"open-choice\",\"maxLength\":8,"
    "\"answerOption\":[{\"valueString\":\"x\"},"
    "{\"valueCoding\":{\"code\":\"k\"}}]},"
    "{\"linkId\":\"qty\",\"type\":\"quantity\"},"
    "{\"linkId\":\"e\",\"type\":\"string\",\"enableWhen\":["
    "{\"question\":\"b\",\"operator\":\"=\",\"answerBoolean\":true}]},"
    "{\"linkId\":\"nq\",\"type\":\"choice\",\"answerOption\":["
    "{\"valueString\":\"yes\"},{\"valueString\":\"no\"}],\"item\":["
    "{\"linkId\":\"why\",\"type\":\"string\",\"required\":true}]},"
    "{\"linkId\":\"tot\",\"type\":\"decimal\",\"readOnly\":true,"
    "\"extension\":[" CALC("%resource.item.answer.value.weight().sum()")
    "]}"
    "]}";


static epro_fhir_set_t  test_set;      /* test_q and the shipped ones */


static void
test_load_shipped(void)
{
    int                      rc;
    char                     err[256];
    size_t                   len;
    const char              *text;
    const epro_fhir_q_t     *q;
    const epro_fhir_item_t  *it;

    static const char *const  files[] = {
        "../../conf/fhir/phq-9.json", "../../conf/fhir/gad-7.json",
        "../../conf/fhir/eq-5d-5l.json"
    };

    size_t  i;

    memset(&test_set, 0, sizeof(epro_fhir_set_t));

    rc = load(&test_set, test_q, err, sizeof(err));
    CHECK_INT("load test_q", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        printf("    %s\n", err);
    }

    for (i = 0; i < NELTS(files); i++) {
        text = read_file(files[i], &len);
        memset(err, 0, sizeof(err));

        rc = epro_fhir_load(&test_set, exact_copy(text, len), len, err,
                            sizeof(err), &conf_alloc);
        CHECK_INT(files[i], rc, EPRO_OK);
        if (rc != EPRO_OK) {
            printf("    %s\n", err);
        }
    }

    CHECK_INT("loaded", test_set.n, 4);

    q = epro_fhir_find(&test_set, "http://loinc.org/q/44249-1|2.74", 31);
    CHECK(q != NULL);
    CHECK(epro_fhir_find(&test_set, "http://loinc.org/q/44249-1", 26) == q);
    CHECK(epro_fhir_find(&test_set, "http://loinc.org/q/44249-1|2.73", 31)
          == NULL);
    CHECK(epro_fhir_find(&test_set, "http://loinc.org/q/44249", 24) == NULL);

    if (q == NULL) {
        return;
    }

    CHECK_INT("phq-9 items", q->nitems, 12);
    CHECK(q->total >= 0
          && strcmp(q->items[q->total].link_id.data, "44261-6") == 0);

    it = epro_fhir_item(q, "44250-9", 7);
    CHECK(it != NULL && it->type == EPRO_FHIR_CHOICE && it->required
          && it->noptions == 4);

    if (it && it->noptions == 4) {
        CHECK(it->options[3].has_weight && it->options[3].weight == 3);
        CHECK_S("option code", it->options[3].value.str, "LA6571-9");
        CHECK_S("option system", it->options[3].value.system,
                "http://loinc.org");
    }

    it = epro_fhir_item(q, "69722-7", 7);
    CHECK(it != NULL && !it->required && !it->options[0].has_weight);

    q = epro_fhir_find(&test_set, "http://loinc.org/q/69737-5", 26);
    CHECK(q != NULL && q->nitems == 10 && q->total >= 0
          && strcmp(q->items[q->total].link_id.data, "70274-6") == 0);

    q = epro_fhir_find(&test_set,
                       "https://euroqol.org/fhir/Questionnaire/eq-5d-5l", 47);
    CHECK(q != NULL && q->nitems == 6 && q->total == -1);

    if (q) {
        it = epro_fhir_item(q, "vas", 3);
        CHECK(it && it->type == EPRO_FHIR_INTEGER
              && it->min.kind == EPRO_FV_INTEGER && it->max.num == 100);
    }

    q = epro_fhir_find(&test_set, "http://t/q|1", 12);
    CHECK(q != NULL && q->nitems == 20);

    if (q) {
        CHECK(q->total >= 0
              && strcmp(q->items[q->total].link_id.data, "tot") == 0);

        it = epro_fhir_item(q, "g1", 2);
        CHECK(it && it->parent >= 0 && it->multi && it->required);
        CHECK_S("key", it->key, "g.g1");
        CHECK(it && q->items[it->parent].first == it - q->items);

        it = epro_fhir_item(q, "e", 1);
        CHECK(it && it->nenable == 1 && it->enable[0].op == EPRO_FHIR_EQ
              && it->enable[0].target == 0);

        it = epro_fhir_item(q, "d", 1);
        CHECK(it && it->max_places == 1 && it->min.num == 0.5);
    }
}


static void
test_load_errors(void)
{
    int              rc;
    char             err[256];
    size_t           i;
    epro_fhir_set_t  set;

    static const struct {
        int          line;
        const char  *text;
        const char  *err;
    } t[] = {
        { __LINE__, "", "the file is empty" },
        { __LINE__, "{\"resourceType\":", "malformed JSON" },
        { __LINE__, "[1]", "/resourceType: must be" },
        { __LINE__, "{\"resourceType\":\"Patient\"}",
          "/resourceType: must be \"Questionnaire\" or \"Bundle\"" },
        { __LINE__, "{\"resourceType\":\"Questionnaire\",\"item\":[]}",
          "/url: the canonical url is required" },
        { __LINE__, "{\"resourceType\":\"Questionnaire\",\"url\":\"u v\"}",
          "/url: the canonical url is required" },
        { __LINE__, "{\"resourceType\":\"Questionnaire\",\"url\":\"u\"}",
          "/item: must be a non-empty array" },
        { __LINE__, QX("1"), "/item/0: must be an object" },
        { __LINE__, QX("{\"type\":\"string\"}"),
          "/item/0/linkId: required" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\"},"
                       "{\"linkId\":\"a\",\"type\":\"string\"}"),
          "/item/1/linkId: \"a\" is the linkId of an earlier item" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"group\",\"item\":["
                       "{\"linkId\":\"a\",\"type\":\"string\"}]}"),
          "/item/0/item/0/linkId: \"a\" is the linkId" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"attachment\"}"),
          "/item/0/type: must be one of group" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"question\"}"),
          "/item/0/type: must be one of" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\",\"x\":1}"),
          "/item/0/x: unknown element" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"type\":\"string\"}"),
          "/item/0/type: duplicate element" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\"}"),
          "/item/0/answerOption: required for a choice item" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"answerOption\":[{\"valueInteger\":1}]}"),
          "/item/0/answerOption: only for choice and open-choice" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerOption\":[{\"valueInteger\":1},"
                       "{\"valueBoolean\":true}]}"),
          "/item/0/answerOption/1/valueBoolean: unknown element" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerOption\":[{}]}"),
          "/item/0/answerOption/0: one of valueInteger" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerOption\":[{\"valueInteger\":1.5}]}"),
          "/item/0/answerOption/0/valueInteger: must be an integer" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerOption\":[{\"valueCoding\":"
                       "{\"system\":\"s\"}}]}"),
          "/item/0/answerOption/0/valueCoding/code: required" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerOption\":[{\"valueCoding\":"
                       "{\"code\":\"c\",\"bad\":1}}]}"),
          "/item/0/answerOption/0/valueCoding/bad: unknown element" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerOption\":[{\"valueCoding\":{\"code\":\"c\"},"
                       "\"extension\":[{\"url\":\"http://hl7.org/fhir/"
                       "StructureDefinition/ordinalValue\","
                       "\"valueString\":\"1\"}]}]}"),
          "/item/0/answerOption/0: a weight" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerValueSet\":\"http://vs\"}"),
          "/item/0/answerValueSet: only a contained ValueSet" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerValueSet\":\"#vs\"}"),
          "/item/0/answerValueSet: no ValueSet \"vs\" in contained" },
        { __LINE__, "{\"resourceType\":\"Questionnaire\",\"url\":\"u\","
                    "\"contained\":[{\"resourceType\":\"ValueSet\","
                    "\"id\":\"vs\",\"compose\":{\"include\":[{"
                    "\"system\":\"s\"}]}}],\"item\":[{\"linkId\":\"a\","
                    "\"type\":\"choice\",\"answerValueSet\":\"#vs\"}]}",
          "/item/0/answerValueSet: the ValueSet \"vs\" lists no code" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"choice\","
                       "\"answerValueSet\":\"#vs\",\"answerOption\":["
                       "{\"valueInteger\":1}]}"),
          "/item/0: answerOption or answerValueSet, not both" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"answerValueSet\":\"#vs\"}"),
          "/item/0/answerValueSet: only for choice and open-choice" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableWhen\":[{\"question\":\"z\","
                       "\"operator\":\"exists\",\"answerBoolean\":true}]}"),
          "/item/0/enableWhen/0/question: no item has the linkId \"z\"" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableWhen\":[{\"question\":\"a\","
                       "\"operator\":\"exists\",\"answerBoolean\":true}]}"),
          "/item/0/enableWhen/0/question: an item cannot depend" },
        { __LINE__, QX("{\"linkId\":\"b\",\"type\":\"string\"},"
                       "{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableWhen\":[{\"question\":\"b\","
                       "\"operator\":\"~\",\"answerString\":\"x\"}]}"),
          "/item/1/enableWhen/0/operator: must be one of" },
        { __LINE__, QX("{\"linkId\":\"b\",\"type\":\"string\"},"
                       "{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableWhen\":[{\"question\":\"b\","
                       "\"operator\":\"exists\",\"answerString\":\"x\"}]}"),
          "/item/1/enableWhen/0: exists takes an answerBoolean" },
        { __LINE__, QX("{\"linkId\":\"b\",\"type\":\"string\"},"
                       "{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableWhen\":[{\"question\":\"b\","
                       "\"operator\":\"=\"}]}"),
          "/item/1/enableWhen/0: one answer[x] is required" },
        { __LINE__, QX("{\"linkId\":\"b\",\"type\":\"string\"},"
                       "{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableWhen\":[{\"question\":\"b\","
                       "\"operator\":\"=\",\"answerString\":\"x\"},"
                       "{\"question\":\"b\",\"operator\":\"=\","
                       "\"answerString\":\"y\"}]}"),
          "/item/1/enableBehavior: required with more than one" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"enableBehavior\":\"some\"}"),
          "/item/0/enableBehavior: must be \"all\" or \"any\"" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"maxLength\":3}"),
          "/item/0/maxLength: only for string" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"maxLength\":0}"),
          "/item/0/maxLength: must be a positive integer" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":["
                       EXT("minValue", "\"valueDecimal\":1.5") "]}"),
          "/item/0/extension/0: minValue and maxValue take" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"extension\":["
                       EXT("maxValue", "\"valueInteger\":1") "]}"),
          "/item/0/extension/0: minValue and maxValue take" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":["
                       EXT("minValue", "\"valueInteger\":5") ","
                       EXT("maxValue", "\"valueInteger\":1") "]}"),
          "/item/0/extension: maxValue is below minValue" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":["
                       EXT("maxDecimalPlaces", "\"valueInteger\":1") "]}"),
          "/item/0/extension/0: maxDecimalPlaces takes" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":[{\"valueInteger\":1}]}"),
          "/item/0/extension: an extension has a url" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":[{\"url\":\"http://hl7.org/fhir/uv/"
                       "sdc/StructureDefinition/sdc-questionnaire-"
                       "calculatedExpression\",\"valueString\":\"x\"}]}"),
          "/item/0/extension/0: calculatedExpression takes" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"group\"}"),
          "/item/0/item: a group has items (que-1)" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"display\","
                       "\"item\":[{\"linkId\":\"b\",\"type\":\"string\"}]}"),
          "/item/0/item: a display item has no items" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"display\","
                       "\"required\":true}"),
          "/item/0: a display item is neither required nor repeats" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"required\":1}"),
          "/item/0/required: must be true or false" },
        { __LINE__, QX("{\"linkId\":\"a\",\"type\":\"string\","
                       "\"modifierExtension\":[{\"url\":\"u\"}]}"),
          "/item/0/modifierExtension: not supported" },
        { __LINE__, "{\"resourceType\":\"Bundle\"}",
          "/entry: must be a non-empty array" },
        { __LINE__, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
                    QX("{\"linkId\":\"a\",\"type\":\"string\"}") "},"
                    "{\"resource\":{\"resourceType\":\"Patient\"}}]}",
          "/entry/1/resource/resourceType: must be \"Questionnaire\"" },
        { __LINE__, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
                    QX("{\"linkId\":\"a\",\"type\":\"boolean\","
                       "\"maxLength\":2}") "}]}",
          "/entry/0/resource/item/0/maxLength: only for" },
        { __LINE__, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":"
                    QX("{\"linkId\":\"a\",\"type\":\"string\"}") "},"
                    "{\"resource\":"
                    QX("{\"linkId\":\"a\",\"type\":\"string\"}") "}]}",
          "the Questionnaire \"http://t/x\" is loaded twice" },
    };

    for (i = 0; i < NELTS(t); i++) {
        memset(&set, 0, sizeof(epro_fhir_set_t));

        rc = load(&set, t[i].text, err, sizeof(err));

        check(__FILE__, t[i].line, rc == EPRO_ERROR,
              "load: rc %d, want EPRO_ERROR", rc);
        check(__FILE__, t[i].line, strstr(err, t[i].err) != NULL,
              "load: \"%s\", want \"%s\"", err, t[i].err);
        check(__FILE__, t[i].line, set.n == 0, "load: the set grew");
    }
}


static void
test_load_more(void)
{
    int                   rc;
    char                  err[256];
    epro_fhir_set_t       set;
    const epro_fhir_q_t  *q, *q1, *q2;

    /* a Bundle; versions; the bare url finds the last one */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, "{\"resourceType\":\"Bundle\",\"type\":\"collection\","
              "\"entry\":[{\"fullUrl\":\"x\",\"resource\":"
              "{\"resourceType\":\"Questionnaire\",\"url\":\"http://v\","
              "\"version\":\"1\",\"item\":[{\"linkId\":\"a\","
              "\"type\":\"string\",\"_text\":{\"extension\":[]}}]}},"
              "{\"resource\":"
              "{\"resourceType\":\"Questionnaire\",\"url\":\"http://v\","
              "\"version\":\"2\",\"item\":[{\"linkId\":\"a\","
              "\"type\":\"integer\"}]}}]}", err, sizeof(err));
    CHECK_INT("bundle", rc, EPRO_OK);
    CHECK_INT("bundle n", set.n, 2);

    q1 = epro_fhir_find(&set, "http://v|1", 10);
    q2 = epro_fhir_find(&set, "http://v|2", 10);
    q = epro_fhir_find(&set, "http://v", 8);
    CHECK(q1 && q2 && q1 != q2 && q == q2);
    CHECK(q1 && q1->items[0].type == EPRO_FHIR_STRING);

    /* a failed file leaves the set as it was */

    rc = load(&set, QX("{\"linkId\":\"a\",\"type\":\"nope\"}"), err,
              sizeof(err));
    CHECK_INT("failed add", rc, EPRO_ERROR);
    CHECK_INT("failed add n", set.n, 2);
    CHECK(epro_fhir_find(&set, "http://v|1", 10) == q1);
    CHECK(epro_fhir_find(&set, "http://t/x", 10) == NULL);

    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":\"http://v\","
              "\"version\":\"2\",\"item\":[{\"linkId\":\"a\","
              "\"type\":\"integer\"}]}", err, sizeof(err));
    CHECK_INT("twice", rc, EPRO_ERROR);
    CHECK(strstr(err, "\"http://v|2\" is loaded twice") != NULL);
    CHECK(epro_fhir_find(&set, "http://v", 8) == q2);

    rc = load(&set, QX("{\"linkId\":\"a\",\"type\":\"string\"}"), err,
              sizeof(err));
    CHECK_INT("third", rc, EPRO_OK);
    CHECK(epro_fhir_find(&set, "http://t/x", 10) != NULL);
    CHECK(epro_fhir_find(&set, "http://v|2", 10) == q2);

    /* other calculations load, and are no score */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":[" CALC("today().year") "]}"),
              err, sizeof(err));
    CHECK_INT("other calc", rc, EPRO_OK);
    CHECK(set.n == 1 && set.list[0]->total == -1);

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, QX("{\"linkId\":\"a\",\"type\":\"integer\","
                       "\"extension\":[" CALC("%resource.item.answer.value"
                                              ".ordinal().sum()") "]}"),
              err, sizeof(err));
    CHECK(rc == EPRO_OK && set.list[0]->total == 0);

    /* out of memory, at every allocation */

    {
        long    k;
        size_t  len;
        char   *text;

        len = strlen(test_q);
        text = exact_copy(test_q, len);

        for (k = 0; ; k++) {
            memset(&set, 0, sizeof(epro_fhir_set_t));
            conf_arena.fail_after = (long) conf_arena.nallocs + k;

            rc = epro_fhir_load(&set, text, len, err, sizeof(err),
                                &conf_alloc);
            conf_arena.fail_after = -1;

            if (rc == EPRO_OK) {
                break;
            }

            check_loop(AT, rc == EPRO_NOMEM
                           && strcmp(err, "out of memory") == 0,
                       "load with %ld allocations: %d %s", k, rc, err);
        }

        CHECK(k > 10 && set.n == 1 && set.list[0]->nitems == 20);
    }
}


/* ------------------------------------------------------------------ */
/* responses                                                           */


#define QR_HEAD(status)                                                     \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"questionnaire\":\"http://t/q|1\",\"status\":\"" status "\","         \
    "\"subject\":{\"reference\":\"Patient/p1\"},"                           \
    "\"authored\":\"2026-11-27T08:15:00Z\""

#define QR(items)         QR_HEAD("completed") ",\"item\":[" items "]}"
#define QRS(st, items)    QR_HEAD(st) ",\"item\":[" items "]}"

#define A(lid, v)                                                           \
    "{\"linkId\":\"" lid "\",\"answer\":[{" v "}]}"
#define B_TRUE      A("b", "\"valueBoolean\":true")
#define G_OK                                                                \
    "{\"linkId\":\"g\",\"item\":[" A("g1", "\"valueInteger\":1") "]}"
#define MIN_OK      B_TRUE "," G_OK

#define QP          EPRO_FR_QR_TEST
#define EPRO_FR_QR_TEST  "QuestionnaireResponse"


typedef struct {
    int          line;
    const char  *body;
    int          status;        /* S400 or S422 */
    const char  *expr;
    const char  *code;
    const char  *text;
} bad_t;


/* each body refused with its status and an issue at expr */

static void
check_bad(const bad_t *t, size_t n)
{
    int                  rc;
    size_t               i;
    epro_fhir_request_t  req;

    for (i = 0; i < n; i++) {
        rc = parse(&req, &test_set, t[i].body);

        if (!check(__FILE__, t[i].line,
                   rc == EPRO_ERROR && req.status == t[i].status
                   && has_issue(&req, t[i].expr, t[i].code, t[i].text),
                   "rc %d status %d, want %d with %s [%s] \"%s\"", rc,
                   req.status, t[i].status, t[i].expr, t[i].code,
                   t[i].text))
        {
            dump_issues(&req);
        }

        check_loop(__FILE__, t[i].line,
                   req.answers.data == NULL && req.nissues >= 1
                   && req.nfound >= req.nissues
                   && (req.status == S400) == (req.nstructure > 0),
                   "the failed request's fields");
    }
}


static void
test_response_valid(void)
{
    int                  rc;
    epro_fhir_request_t  req;

    /* every type once, in order; the answers flattened */

    rc = parse(&req, &test_set, QR(
        "{\"linkId\":\"b\",\"text\":\"B?\",\"answer\":[{\"valueBoolean\":"
        "true}]},"
        "{\"linkId\":\"g\",\"item\":["
        A("g1", "\"valueInteger\":1") ","
        A("g2", "\"valueCoding\":{\"system\":\"http://s\",\"code\":\"a\"}")
        "]},"
        "{\"linkId\":\"g\",\"item\":[" A("g1", "\"valueInteger\":2") "]},"
        A("d", "\"valueDecimal\":2.5") ","
        A("i", "\"valueInteger\":10") ","
        A("dt", "\"valueDate\":\"2020-01-01\"") ","
        A("ts", "\"valueDateTime\":\"2026-11\"") ","
        A("tm", "\"valueTime\":\"08:15:00.5\"") ","
        A("s", "\"valueString\":\"h\\u00e9llo\"") ","
        A("tx", "\"valueString\":\"a\\nb\"") ","
        A("u", "\"valueUri\":\"http://x/y\"") ","
        "{\"linkId\":\"c\",\"answer\":["
        "{\"valueCoding\":{\"system\":\"http://s\",\"code\":\"a\","
        "\"display\":\"A\"}},"
        "{\"valueCoding\":{\"system\":\"http://s\",\"code\":\"b\"}}]},"
        A("ci", "\"valueInteger\":2") ","
        A("oc", "\"valueString\":\"free\"") ","
        A("qty", "\"valueQuantity\":{\"value\":72.5,\"unit\":\"kg\"}") ","
        A("e", "\"valueString\":\"on\"") ","
        "{\"linkId\":\"nq\",\"answer\":[{\"valueString\":\"yes\","
        "\"item\":[" A("why", "\"valueString\":\"because\"") "]}]},"
        A("tot", "\"valueDecimal\":3.5")));

    CHECK_INT("all types", rc, EPRO_OK);
    CHECK_INT("status", req.status, EPRO_OK);
    CHECK_INT("issues", req.nfound, 0);

    CHECK(req.has_score && req.score == 3.5);
    CHECK_S("answers", req.answers,
            "{\"b\":true,\"g.g1\":[1,2],\"g.g2\":[\"a\"],\"d\":2.5,\"i\":10,"
            "\"dt\":\"2020-01-01\","
            "\"ts\":\"2026-11\",\"tm\":\"08:15:00.5\",\"s\":\"h\xc3\xa9llo\","
            "\"tx\":\"a\\u000ab\",\"u\":\"http://x/y\",\"c\":[\"a\",\"b\"],"
            "\"ci\":2,\"oc\":\"free\",\"qty\":72.5,\"e\":\"on\","
            "\"nq\":\"yes\","
            "\"nq.why\":\"because\",\"tot\":3.5}");
    CHECK_S("instrument", req.sub.instrument, "http://t/q|1");
    CHECK_S("fhir status", req.fhir_status, "completed");
    CHECK_S("subject", req.sub.subject, "p1");
    CHECK_STR("collected", req.sub.collected, "2026-11-27T08:15:00Z");
    CHECK_STR("id", req.sub.id, "");
    CHECK_S("study", req.sub.study, NULL);
    CHECK_S("site", req.sub.site, NULL);
    CHECK_S("visit", req.sub.visit, NULL);
    CHECK(req.questionnaire == epro_fhir_find(&test_set, "http://t/q", 10));

    /* in progress: nothing is required; no total sent, computed */

    rc = parse(&req, &test_set, QRS("in-progress",
                                    A("c", "\"valueCoding\":{\"system\":"
                                      "\"http://s\",\"code\":\"b\"}")));
    CHECK_INT("in progress", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }
    CHECK(req.has_score && req.score == 2);
    CHECK_S("answers", req.answers, "{\"c\":[\"b\"]}");

    /* the bare url; no items at all while in progress */

    rc = parse(&req, &test_set,
               "{\"resourceType\":\"QuestionnaireResponse\","
               "\"questionnaire\":\"http://t/q\",\"status\":\"in-progress\","
               "\"subject\":{\"identifier\":{\"value\":\"S-1\"}},"
               "\"authored\":\"2026-11-27T08:15:00.123-05:00\"}");
    CHECK_INT("no items", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }
    CHECK_S("answers", req.answers, "{}");
    CHECK_S("subject by identifier", req.sub.subject, "S-1");
    CHECK(req.has_score && req.score == 0);

    /* a Coding matches an option on system and code, both or neither
     * with a system (the reference validator's checkCodingOption) */

    rc = parse(&req, &test_set, QR(MIN_OK ","
                                   A("oc", "\"valueCoding\":{\"code\":"
                                     "\"k\"}")));
    CHECK_INT("open-choice coding", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    rc = parse(&req, &test_set, QR(MIN_OK ","
                                   A("oc", "\"valueCoding\":{\"system\":"
                                     "\"http://any\",\"code\":\"k\"}")));
    CHECK(rc == EPRO_ERROR
          && has_issue(&req, QP ".item[2].answer[0].valueCoding",
                       "code-invalid", "is not one of the answerOptions"));

    /* an answer without value[x] (R4: 0..1), its nested items only */

    rc = parse(&req, &test_set, QR(MIN_OK ",{\"linkId\":\"nq\",\"answer\":"
                                   "[{\"item\":[" A("why", "\"valueString\":"
                                   "\"x\"") "]}]}"));
    CHECK_INT("an answer of items alone", rc, EPRO_OK);
    CHECK(rc != EPRO_OK || strstr(req.answers.data, "\"nq.why\":\"x\"")
                           != NULL);

    rc = parse(&req, &test_set, QR(MIN_OK ","
                                   A("c", "\"valueCoding\":{\"code\":"
                                     "\"a\"}")));
    CHECK(rc == EPRO_ERROR
          && has_issue(&req, QP ".item[2].answer[0].valueCoding",
                       "code-invalid", "is not one of the answerOptions"));
}


static void
test_valueset(void)
{
    int                   rc;
    char                  err[256];
    epro_fhir_set_t       set;
    const epro_fhir_q_t  *q;
    epro_fhir_request_t   req;

    /* a contained ValueSet: compose.include.concept, expansion.contains */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":\"http://vs\","
              "\"contained\":[{\"resourceType\":\"Patient\",\"id\":\"c\"},"
              "{\"resourceType\":\"ValueSet\",\"id\":\"c\",\"compose\":"
              "{\"include\":[{\"system\":\"http://loinc.org\",\"concept\":["
              "{\"code\":\"LA6568-5\"," ORD(0) "},"
              "{\"code\":\"LA6569-3\"," ORD(1) "}]}]}},"
              "{\"resourceType\":\"ValueSet\",\"id\":\"e\",\"expansion\":"
              "{\"contains\":[{\"system\":\"s\",\"code\":\"x\","
              "\"extension\":[{\"url\":\"http://hl7.org/fhir/"
              "StructureDefinition/itemWeight\",\"valueDecimal\":2.5}]},"
              "{\"system\":\"s\",\"code\":\"y\"}]}}],"
              "\"item\":[{\"linkId\":\"a\",\"type\":\"choice\","
              "\"answerValueSet\":\"#c\"},{\"linkId\":\"b\","
              "\"type\":\"open-choice\",\"answerValueSet\":\"#e\"},"
              "{\"linkId\":\"t\",\"type\":\"decimal\",\"extension\":["
              CALC("%resource.item.answer.value.ordinal().sum()") "]}]}",
              err, sizeof(err));
    CHECK_INT("contained ValueSet", rc, EPRO_OK);

    if (rc == EPRO_OK) {
        q = set.list[0];
        CHECK(q->items[0].noptions == 2 && q->items[1].noptions == 2
              && q->items[0].options[1].weight == 1
              && q->items[1].options[0].weight == 2.5
              && !q->items[1].options[1].has_weight);
        CHECK_S("system", q->items[0].options[0].value.system,
                "http://loinc.org");

#define VS_R(items)                                                         \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"questionnaire\":\"http://vs\",\"status\":\"completed\","             \
    "\"subject\":{\"reference\":\"Patient/p\"},"                            \
    "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":[" items "]}"

        rc = parse(&req, &set, VS_R(
            A("a", "\"valueCoding\":{\"system\":\"http://loinc.org\","
              "\"code\":\"LA6569-3\"}") ","
            A("b", "\"valueCoding\":{\"system\":\"s\",\"code\":\"x\"}")));
        CHECK_INT("contained ValueSet response", rc, EPRO_OK);
        CHECK(req.has_score && req.score == 3.5);

        rc = parse(&req, &set, VS_R(
            A("a", "\"valueCoding\":{\"system\":\"http://loinc.org\","
              "\"code\":\"LA6570-1\"}")));
        CHECK(rc == EPRO_ERROR
              && has_issue(&req, "QuestionnaireResponse.item[0].answer[0]"
                           ".valueCoding", "code-invalid", "not one of"));
    }

    /* an open-choice item with no answerOption: any Coding, or text */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":\"http://vs\","
              "\"item\":[{\"linkId\":\"a\",\"type\":\"open-choice\"}]}",
              err, sizeof(err));
    CHECK_INT("open-choice without answerOption", rc, EPRO_OK);

    if (rc == EPRO_OK) {
        rc = parse(&req, &set, VS_R(
            A("a", "\"valueCoding\":{\"system\":\"s\",\"code\":\"x\"}")));
        CHECK_INT("open-choice without options: a Coding", rc, EPRO_OK);

        rc = parse(&req, &set, VS_R(A("a", "\"valueString\":\"free\"")));
        CHECK_INT("open-choice without options: text", rc, EPRO_OK);

        rc = parse(&req, &set, VS_R(A("a", "\"valueInteger\":3")));
        CHECK(rc == EPRO_ERROR
              && has_issue(&req, "QuestionnaireResponse.item[0].answer[0]"
                           ".valueInteger", "value", "takes a valueCoding"));
    }
}


static void
test_response_mapping(void)
{
    int                  rc;
    size_t               len;
    const char          *text;
    epro_fhir_request_t  req;

    text = read_file("fhir/phq-9-response.json", &len);

    memset(&req, 0x5a, sizeof(epro_fhir_request_t));
    req.set = &test_set;

    rc = epro_fhir_parse(&req, exact_copy(text, len), len, &req_alloc);
    CHECK_INT("phq-9 response", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    CHECK(req.has_score && req.score == 10);
    CHECK_STR("id", req.sub.id, "5b1c2e3a-9d4f-4e6a-8b7c-0d1e2f3a4b5c");
    CHECK_S("subject", req.sub.subject, "pat-0017");
    CHECK_S("visit", req.sub.visit, "visit-3");
    CHECK_S("study", req.sub.study, "study-042");
    CHECK_S("site", req.sub.site, NULL);
    CHECK_S("instrument", req.sub.instrument,
            "http://loinc.org/q/44249-1|2.74");
    CHECK_STR("collected", req.sub.collected, "2026-11-27T08:15:00+01:00");
    CHECK_S("status", req.fhir_status, "completed");
    CHECK(req.sub.payload.len == len - 1 && req.sub.payload.data[0] == '{');
    CHECK_S("answers", req.answers,
            "{\"44250-9\":\"LA6569-3\",\"44255-8\":\"LA6570-1\","
            "\"44259-0\":\"LA6571-9\",\"44254-1\":\"LA6570-1\","
            "\"44251-7\":\"LA6568-5\",\"44258-2\":\"LA6569-3\","
            "\"44252-5\":\"LA6569-3\",\"44253-3\":\"LA6568-5\","
            "\"44260-8\":\"LA6568-5\",\"44261-6\":10,"
            "\"69722-7\":\"LA6573-5\"}");

    /* a wrong total is caught */

    {
        char  *copy, *p;

        copy = exact_copy(text, len);
        p = strstr(copy, "\"valueInteger\": 10");
        CHECK(p != NULL);

        if (p) {
            p[16] = '1';
            p[17] = '2';

            rc = epro_fhir_parse(&req, copy, len, &req_alloc);
            CHECK_INT("wrong total", rc, EPRO_ERROR);
            CHECK_INT("wrong total status", req.status, S422);
            if (!CHECK(has_issue(&req, "QuestionnaireResponse.item[9]"
                                 ".answer[0].valueInteger", "business-rule",
                                 "the total sent, 12, is not the sum of "
                                 "the answers' weights, 10")))
            {
                dump_issues(&req);
            }
        }
    }

    /* identifiers: a bare UUID, any other value, none */

#define ID_QR(ident)                                                        \
    "{\"resourceType\":\"QuestionnaireResponse\"," ident                    \
    "\"questionnaire\":\"http://t/q|1\",\"status\":\"in-progress\","        \
    "\"subject\":{\"reference\":\"https://h/fhir/Patient/p-9/_history/2\"}," \
    "\"encounter\":{\"reference\":\"Visit/3\"},"                            \
    "\"authored\":\"2026-11-27T08:15:00Z\"}"

    rc = parse(&req, &test_set, ID_QR("\"identifier\":{\"value\":"
                                      "\"0B8D5D3E-1A2B-4C3D-8E4F-"
                                      "000000000001\"},"));
    CHECK_INT("uuid id", rc, EPRO_OK);
    CHECK_STR("uuid id", req.sub.id, "0b8d5d3e-1a2b-4c3d-8e4f-000000000001");
    CHECK_S("subject in a url", req.sub.subject, "p-9");
    CHECK_S("not an Encounter", req.sub.visit, NULL);

    rc = parse(&req, &test_set, ID_QR("\"identifier\":{\"system\":"
                                      "\"https://app.example.org/fhir/"
                                      "qr-id\",\"value\":\"ABC-123\"},"));
    CHECK_INT("v5 id", rc, EPRO_OK);
    CHECK_STR("v5 id", req.sub.id, "3c60d0ce-378e-55e3-9e57-c5c303fbfba2");

    rc = parse(&req, &test_set, ID_QR("\"identifier\":{\"value\":"
                                      "\"ABC-123\"},"));
    CHECK_STR("v5 id, no system", req.sub.id,
              "fd55ec34-b2ac-516f-8909-a888869de315");

    rc = parse(&req, &test_set, ID_QR("\"identifier\":{\"system\":\"s\"},"));
    CHECK_INT("no value", rc, EPRO_OK);
    CHECK_STR("no value", req.sub.id, "");
}


static void
test_response_invalid(void)
{
    static const bad_t  t[] = {

        /* JSON and R4 structure: 400 */

        { __LINE__, "{\"resourceType\":", S400, "", "structure",
          "malformed JSON" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"status\":\"\\ud800\"}", S400, "",
          "structure", "/status: " },
        { __LINE__, "{\"resourceType\":\"Patient\"}", S400, "",
          "structure", "must be a QuestionnaireResponse" },
        { __LINE__, "[]", S400, "", "structure",
          "must be a QuestionnaireResponse" },
        { __LINE__, QR_HEAD("completed") ",\"foo\":1}", S400,
          QP ".foo", "structure", "unknown element" },
        { __LINE__, QR_HEAD("completed") ",\"status\":\"completed\"}",
          S400, QP ".status", "structure", "duplicate element" },
        { __LINE__, QR_HEAD("done") "}", S400, QP ".status",
          "code-invalid", "must be one of in-progress" },
        { __LINE__, QR_HEAD("completed") ",\"meta\":{\"source\":\"a\","
                    "\"source\":\"b\"}}", S400, QP ".meta.source",
          "structure", "duplicate element" },
        { __LINE__, QR_HEAD("completed") ",\"meta\":{\"bogus\":1}}", S400,
          QP ".meta.bogus", "structure", "unknown element" },
        { __LINE__, QR_HEAD("completed") ",\"text\":{\"status\":"
                    "\"generated\",\"div\":\"<div/>\",\"div\":\"x\"}}",
          S400, QP ".text.div", "structure", "duplicate element" },
        { __LINE__, QR_HEAD("completed") ",\"extension\":[{\"url\":"
                    "\"http://x\",\"url\":\"http://y\"}]}", S400,
          QP ".extension", "structure", "each element" },
        { __LINE__, QR_HEAD("completed") ",\"extension\":[{\"url\":"
                    "\"http://x\",\"valueString\":\"a\","
                    "\"valueInteger\":1}]}", S400,
          QP ".extension", "structure", "one value[x]" },
        { __LINE__, QR_HEAD("completed") ",\"extension\":[{\"url\":"
                    "\"http://x\",\"valueString\":\"a\",\"extension\":"
                    "[{\"url\":\"http://z\",\"valueString\":\"b\"}]}]}",
          S400, QP ".extension", "structure", "(ext-1)" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\"}", S400,
          QP ".status", "required", "status is required" },
        { __LINE__, QR_HEAD("completed") ",\"id\":\"a b\"}", S400,
          QP ".id", "structure", "must be an id" },
        { __LINE__, QR_HEAD("completed") ",\"identifier\":[{}]}",
          S400, QP ".identifier", "structure",
          "must be a non-empty object" },
        { __LINE__, QR_HEAD("completed") ",\"identifier\":{\"value\":1}}",
          S400, QP ".identifier.value", "structure",
          "must be a non-empty string" },
        { __LINE__, QR_HEAD("completed") ",\"basedOn\":[{\"ref\":\"x\"}]}",
          S400, QP ".basedOn[0].ref", "structure",
          "unknown element" },
        { __LINE__, QR_HEAD("completed") ",\"author\":{\"identifier\":"
                    "{\"use\":\" x\"}}}", S400,
          QP ".author.identifier.use", "structure", "must be a code" },
        { __LINE__, QR_HEAD("completed") ",\"contained\":[{\"a\":1}]}",
          S400, QP ".contained[0]", "structure",
          "must be a resource" },
        { __LINE__, QR_HEAD("completed") ",\"extension\":[{\"url\":1}]}",
          S400, QP ".extension", "structure",
          "an extension has a url" },
        { __LINE__, QR_HEAD("completed") ",\"item\":{}}", S400,
          QP ".item", "structure", "must be a non-empty array" },
        { __LINE__, QR_HEAD("completed") ",\"item\":[]}", S400,
          QP ".item", "structure", "must be a non-empty array" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\","
                    "\"status\":\"completed\","
                    "\"subject\":{\"reference\":\"Patient/p1\"},"
                    "\"authored\":\"2026-13-01\"}", S400,
          QP ".authored", "structure", "must be a dateTime" },
        { __LINE__, QR(MIN_OK ",{\"answer\":[{\"valueString\":\"x\"}]}"),
          S400, QP ".item[2]", "required", "linkId is required" },
        { __LINE__, QR(MIN_OK ",1"), S400, QP ".item[2]",
          "structure", "must be an object" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"value\":1}"),
          S400, QP ".item[2].value", "structure",
          "unknown element" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"text\":\"\"}"),
          S400, QP ".item[2].text", "structure",
          "must be a non-empty string" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"answer\":[{"
                       "\"valueString\":\"a\",\"valueInteger\":1}]}"),
          S400, QP ".item[2].answer[0].valueInteger", "structure",
          "only one value[x]" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"answer\":[{"
                       "\"valueText\":\"a\"}]}"),
          S400, QP ".item[2].answer[0].valueText", "structure",
          "unknown element" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"answer\":[{}]}"),
          S400, QP ".item[2].answer[0]", "structure",
          "must be a non-empty object" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":1.5")),
          S400, QP ".item[2].answer[0].valueInteger", "structure",
          "must be an integer" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":2147483648") ),
          S400, QP ".item[2].answer[0].valueInteger", "structure",
          "must be an integer" },
        { __LINE__, QR(MIN_OK "," A("dt", "\"valueDate\":\"2026-02-30\"")),
          S400, QP ".item[2].answer[0].valueDate", "structure",
          "must be a date" },
        { __LINE__, QR(MIN_OK "," A("ts", "\"valueDateTime\":"
                                    "\"2026-11-27T08:15:00\"")),
          S400, QP ".item[2].answer[0].valueDateTime", "structure",
          "must be a dateTime" },
        { __LINE__, QR(MIN_OK "," A("ts", "\"valueDateTime\":"
                                    "\"2026-11-27T08:15:00+14:30\"") ),
          S400, QP ".item[2].answer[0].valueDateTime", "structure",
          "must be a dateTime" },
        { __LINE__, QR(MIN_OK "," A("tm", "\"valueTime\":\"24:00:00\"") ),
          S400, QP ".item[2].answer[0].valueTime", "structure",
          "must be a time" },
        { __LINE__, QR(MIN_OK "," A("u", "\"valueUri\":\"a b\"")),
          S400, QP ".item[2].answer[0].valueUri", "structure",
          "must be a uri" },
        { __LINE__, QR(MIN_OK "," A("c", "\"valueCoding\":{\"code\":\"a\","
                                    "\"colour\":\"red\"}")),
          S400, QP ".item[2].answer[0].valueCoding.colour",
          "structure", "unknown element" },
        { __LINE__, QR(MIN_OK "," A("qty", "\"valueQuantity\":{\"value\":1,"
                                    "\"comparator\":\"=\"}")),
          S400, QP ".item[2].answer[0].valueQuantity.comparator",
          "structure", "must be one of <" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"nq\",\"answer\":[{"
                       "\"valueString\":\"yes\"}],\"item\":[{\"linkId\":"
                       "\"why\"}]}"),
          S400, QP ".item[2]", "invariant", "qrs-1" },

        /* the Questionnaire's rules: 422 */

        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"status\":\"in-progress\","
                    "\"subject\":{\"reference\":\"Patient/p1\"},"
                    "\"authored\":\"2026-11-27T08:15:00Z\"}", S422,
          QP ".questionnaire", "required", "canonical url" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|2\","
                    "\"status\":\"in-progress\","
                    "\"subject\":{\"reference\":\"Patient/p1\"},"
                    "\"authored\":\"2026-11-27T08:15:00Z\"}", S422,
          QP ".questionnaire", "not-found",
          "no Questionnaire \"http://t/q|2\"" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\","
                    "\"status\":\"in-progress\","
                    "\"authored\":\"2026-11-27T08:15:00Z\"}", S422,
          QP ".subject", "required", "a subject" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\","
                    "\"status\":\"in-progress\","
                    "\"subject\":{\"reference\":\"Group/g\"},"
                    "\"authored\":\"2026-11-27T08:15:00Z\"}", S422,
          QP ".subject", "required", "a subject" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\","
                    "\"status\":\"in-progress\","
                    "\"subject\":{\"reference\":\"Patient/p1\"}}",
          S422, QP ".authored", "required", "authored is required" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\","
                    "\"status\":\"in-progress\","
                    "\"subject\":{\"reference\":\"Patient/p1\"},"
                    "\"authored\":\"2026-11-27\"}", S422,
          QP ".authored", "value", "a time of day and an offset" },
        { __LINE__, QR_HEAD("completed") ",\"modifierExtension\":[{"
                    "\"url\":\"http://m\",\"valueBoolean\":true}]}", S422,
          QP ".modifierExtension", "not-supported", "modifierExtension" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"zz\"}"), S422,
          QP ".item[2]", "structure",
          "linkId \"zz\" is not an item of http://t/q|1" },
        { __LINE__, QR(MIN_OK "," A("g1", "\"valueInteger\":1")),
          S422, QP ".item[2]", "structure",
          "\"g1\" is not an item at the top" },
        { __LINE__, QR(B_TRUE ",{\"linkId\":\"g\",\"item\":["
                       A("g1", "\"valueInteger\":1") ","
                       A("s", "\"valueString\":\"x\"")
                       "]}"),
          S422, QP ".item[1].item[1]", "structure",
          "\"s\" is not an item of \"g\"" },
        { __LINE__, QR(A("i", "\"valueInteger\":1") "," B_TRUE "," G_OK),
          S422, QP ".item[1]", "structure",
          "\"b\" is out of the Questionnaire's order" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueString\":\"x\"") ","
                       A("s", "\"valueString\":\"y\"")),
          S422, QP ".item[3]", "structure", "qrs-2" },
        { __LINE__, QR(G_OK), S422, QP, "required",
          "item \"b\" is required" },
        { __LINE__, QR("{\"linkId\":\"b\"}," G_OK), S422,
          QP ".item[0]", "required", "\"b\" is required" },
        { __LINE__, QR(B_TRUE ",{\"linkId\":\"g\",\"item\":["
                       A("g2", "\"valueCoding\":{\"system\":\"http://s\","
                         "\"code\":\"a\"}") "]}"),
          S422, QP ".item[1]", "required",
          "item \"g1\" is required" },
        { __LINE__, QR(B_TRUE), S422, QP, "required",
          "item \"g\" is required" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"nq\",\"answer\":[{"
                       "\"valueString\":\"no\",\"item\":[{\"linkId\":"
                       "\"why\"}]}]}"),
          S422, QP ".item[2].answer[0].item[0]", "required",
          "\"why\" is required" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"nq\",\"answer\":[{"
                       "\"valueString\":\"no\"}]}"),
          S422, QP ".item[2].answer[0]", "required",
          "item \"why\" is required" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"i\",\"answer\":["
                       "{\"valueInteger\":1},{\"valueInteger\":2}]}"),
          S422, QP ".item[2]", "structure",
          "2 answers, and \"i\" does not repeat" },
        { __LINE__, QR(A("b", "\"valueBoolean\":false") ","
                       A("e", "\"valueString\":\"x\"") "," G_OK),
          S422, QP ".item[1]", "business-rule",
          "\"e\" is answered but disabled by its enableWhen" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueString\":\"3\"")),
          S422, QP ".item[2].answer[0].valueString", "value",
          "of type integer: it takes a valueInteger" },
        { __LINE__, QR(MIN_OK "," A("d", "\"valueInteger\":3")),
          S422, QP ".item[2].answer[0].valueInteger", "value",
          "of type decimal: it takes a valueDecimal" },
        { __LINE__, QR(MIN_OK "," A("c", "\"valueCoding\":{\"system\":"
                                    "\"http://s\",\"code\":\"z\"}")),
          S422, QP ".item[2].answer[0].valueCoding", "code-invalid",
          "is not one of the answerOptions of \"c\"" },
        { __LINE__, QR(MIN_OK "," A("c", "\"valueCoding\":{\"system\":"
                                    "\"http://other\",\"code\":\"a\"}")),
          S422, QP ".item[2].answer[0].valueCoding", "code-invalid",
          "is not one of the answerOptions" },
        { __LINE__, QR(MIN_OK "," A("c", "\"valueString\":\"a\"")),
          S422, QP ".item[2].answer[0].valueString", "value",
          "of type choice: it takes a valueCoding" },
        { __LINE__, QR(MIN_OK "," A("ci", "\"valueInteger\":3")),
          S422, QP ".item[2].answer[0].valueInteger",
          "code-invalid", "is not one of the answerOptions of \"ci\"" },
        { __LINE__, QR(MIN_OK "," A("oc", "\"valueCoding\":{\"code\":\"q\"}")),
          S422, QP ".item[2].answer[0].valueCoding", "code-invalid",
          "answerOptions of \"oc\"" },
        { __LINE__, QR(MIN_OK "," A("oc", "\"valueString\":\"123456789\"")),
          S422, QP ".item[2].answer[0].valueString", "value",
          "9 characters, the maxLength is 8" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":11")),
          S422, QP ".item[2].answer[0].valueInteger", "value",
          "is above the maxValue, 10" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":-1")),
          S422, QP ".item[2].answer[0].valueInteger", "value",
          "is below the minValue, 0" },
        { __LINE__, QR(MIN_OK "," A("d", "\"valueDecimal\":0.4")),
          S422, QP ".item[2].answer[0].valueDecimal", "value",
          "is below the minValue, 0.5" },
        { __LINE__, QR(MIN_OK "," A("d", "\"valueDecimal\":1.25")),
          S422, QP ".item[2].answer[0].valueDecimal", "value",
          "1.25 has more than 1 decimal places" },
        { __LINE__, QR(MIN_OK "," A("dt", "\"valueDate\":\"2019-12-31\"")),
          S422, QP ".item[2].answer[0].valueDate", "value",
          "is below the minValue, 2020-01-01" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueString\":\"\\u00e9\\u00e9"
                                    "\\u00e9\\u00e9\\u00e9\\u00e9\"") ),
          S422, QP ".item[2].answer[0].valueString", "value",
          "6 characters, the maxLength is 5" },
        { __LINE__, QR("{\"linkId\":\"b\",\"text\":\"b?\",\"answer\":[{"
                       "\"valueBoolean\":true}]}," G_OK),
          S422, QP ".item[0].text", "value",
          "is not the text of \"b\"" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"text\":\"S\"}"),
          S422, QP ".item[2].text", "value", "is not the text" },
        { __LINE__, QR(B_TRUE ",{\"linkId\":\"g\",\"answer\":[{"
                       "\"valueInteger\":1}],\"item\":[]}"),
          S400, QP ".item[1].item", "structure",
          "must be a non-empty array" },
        { __LINE__, QR(B_TRUE ",{\"linkId\":\"g\",\"answer\":[{"
                       "\"valueInteger\":1}]}"),
          S422, QP ".item[1]", "structure",
          "a group item has no answers" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"nq\",\"item\":["
                       A("why", "\"valueString\":\"x\"") "]}"),
          S422, QP ".item[2]", "structure",
          "the items nested in a question go in its answers" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueString\":\"x\","
                                    "\"modifierExtension\":[{\"url\":"
                                    "\"http://m\",\"valueBoolean\":"
                                    "true}]")),
          S422, QP ".item[2].answer[0].modifierExtension",
          "not-supported", "modifierExtension" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"answer\":[{"
                       "\"item\":[" A("why", "\"valueString\":\"x\"")
                       "]}]}"),
          S422, QP ".item[2].answer[0].item[0]", "structure",
          "\"why\" is not an item of \"s\"" },
        { __LINE__, QR(MIN_OK "," A("tot", "\"valueDecimal\":1")),
          S422, QP ".item[2].answer[0].valueDecimal",
          "business-rule", "the total sent, 1, is not the sum of the "
          "answers' weights, 0" },
    };

    check_bad(t, NELTS(t));
}


/* the datatypes a response holds, each element held to R4 */

#define QRI(more)   QR_HEAD("in-progress") more "}"

static void
test_response_datatypes(void)
{
    int                  rc;
    epro_fhir_request_t  req;

    static const bad_t  t[] = {

        /* Identifier: type, period, assigner, use */

        { __LINE__, QRI(",\"identifier\":{\"type\":{\"coding\":[{"
                        "\"system\":\"a b\"}]}}"), S400,
          QP ".identifier.type.coding[0].system", "structure",
          "must be a uri" },
        { __LINE__, QRI(",\"identifier\":{\"type\":{\"coding\":"
                        "{\"code\":\"x\"}}}"), S400,
          QP ".identifier.type.coding", "structure",
          "must be a non-empty array" },
        { __LINE__, QRI(",\"identifier\":{\"type\":{\"coding\":[{"
                        "\"code\":\"x\",\"code\":\"y\"}]}}"), S400,
          QP ".identifier.type.coding[0].code", "structure",
          "duplicate element" },
        { __LINE__, QRI(",\"identifier\":{\"type\":{\"coding\":[{"
                        "\"code\":\"x\",\"userSelected\":\"yes\"}]}}"),
          S400, QP ".identifier.type.coding[0].userSelected", "structure",
          "must be true or false" },
        { __LINE__, QRI(",\"identifier\":{\"type\":{\"text\":1}}"), S400,
          QP ".identifier.type.text", "structure",
          "must be a non-empty string" },
        { __LINE__, QRI(",\"identifier\":{\"type\":{\"codes\":[]}}"), S400,
          QP ".identifier.type.codes", "structure", "unknown element" },
        { __LINE__, QRI(",\"identifier\":{\"period\":{\"start\":"
                        "\"2026-13\"}}"), S400,
          QP ".identifier.period.start", "structure", "must be a dateTime" },
        { __LINE__, QRI(",\"identifier\":{\"period\":{\"end\":"
                        "\"2026-01-01T10:00:00\"}}"), S400,
          QP ".identifier.period.end", "structure", "must be a dateTime" },
        { __LINE__, QRI(",\"identifier\":{\"period\":{\"from\":"
                        "\"2026\"}}"), S400,
          QP ".identifier.period.from", "structure", "unknown element" },
        { __LINE__, QRI(",\"identifier\":{\"period\":[]}"), S400,
          QP ".identifier.period", "structure",
          "must be a non-empty object" },
        { __LINE__, QRI(",\"identifier\":{\"assigner\":{\"display\":1}}"),
          S400, QP ".identifier.assigner.display", "structure",
          "must be a non-empty string" },
        { __LINE__, QRI(",\"identifier\":{\"assigner\":{\"identifier\":"
                        "{\"period\":{\"start\":\"x\"}}}}"), S400,
          QP ".identifier.assigner.identifier.period.start", "structure",
          "must be a dateTime" },
        { __LINE__, QRI(",\"identifier\":{\"use\":\"nickname\"}"), S400,
          QP ".identifier.use", "structure",
          "must be one of usual, official, temp, secondary, old" },

        /* Reference: type, display, identifier */

        { __LINE__, QRI(",\"basedOn\":[{\"reference\":\"CarePlan/1\"},"
                        "{\"type\":\"a b\"}]"), S400,
          QP ".basedOn[1].type", "structure", "must be a uri" },
        { __LINE__, QRI(",\"partOf\":[{\"display\":true}]"), S400,
          QP ".partOf[0].display", "structure",
          "must be a non-empty string" },
        { __LINE__, QRI(",\"source\":{\"identifier\":{\"type\":{"
                        "\"coding\":[{\"version\":1}]}}}"), S400,
          QP ".source.identifier.type.coding[0].version", "structure",
          "must be a non-empty string" },
        { __LINE__, QRI(",\"encounter\":{\"identifier\":{\"use\":"
                        "\"primary\"}}"), S400,
          QP ".encounter.identifier.use", "structure", "must be one of" },

        /* Meta */

        { __LINE__, QRI(",\"meta\":{\"versionId\":\"a b\"}"), S400,
          QP ".meta.versionId", "structure", "must be an id" },
        { __LINE__, QRI(",\"meta\":{\"lastUpdated\":\"2026-11-27\"}"),
          S400, QP ".meta.lastUpdated", "structure", "must be an instant" },
        { __LINE__, QRI(",\"meta\":{\"lastUpdated\":"
                        "\"2026-11-27T08:15:00\"}"),
          S400, QP ".meta.lastUpdated", "structure", "must be an instant" },
        { __LINE__, QRI(",\"meta\":{\"source\":\"a b\"}"), S400,
          QP ".meta.source", "structure", "must be a uri" },
        { __LINE__, QRI(",\"meta\":{\"profile\":\"http://p\"}"), S400,
          QP ".meta.profile", "structure", "must be a non-empty array" },
        { __LINE__, QRI(",\"meta\":{\"profile\":[\"http://p\",\"a b\"]}"),
          S400, QP ".meta.profile[1]", "structure", "must be a uri" },
        { __LINE__, QRI(",\"meta\":{\"security\":{\"code\":\"R\"}}"), S400,
          QP ".meta.security", "structure", "must be a non-empty array" },
        { __LINE__, QRI(",\"meta\":{\"tag\":[{\"code\":\"a\"},"
                        "{\"code\":\"b\",\"colour\":1}]}"), S400,
          QP ".meta.tag[1].colour", "structure", "unknown element" },

        /* Narrative */

        { __LINE__, QRI(",\"text\":{\"status\":\"written\","
                        "\"div\":\"<div/>\"}"), S400,
          QP ".text.status", "structure",
          "must be one of generated, extensions, additional, empty" },
        { __LINE__, QRI(",\"text\":{\"status\":\"generated\","
                        "\"div\":1}"), S400,
          QP ".text.div", "structure", "must be a non-empty string" },
        { __LINE__, QRI(",\"text\":{\"status\":\"generated\"}"), S400,
          QP ".text.div", "required", "div is required" },
        { __LINE__, QRI(",\"text\":{\"div\":\"<div/>\"}"), S400,
          QP ".text.status", "required", "status is required" },

        /* an answer's datatypes */

        { __LINE__, QR(MIN_OK "," A("s", "\"valueReference\":{"
                                    "\"identifier\":{\"use\":\"x\"}}")),
          S400, QP ".item[2].answer[0].valueReference.identifier.use",
          "structure", "must be one of" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueAttachment\":{"
                                    "\"size\":-1}")),
          S400, QP ".item[2].answer[0].valueAttachment.size", "structure",
          "must be an unsignedInt" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueAttachment\":{"
                                    "\"data\":\"abc\"}")),
          S400, QP ".item[2].answer[0].valueAttachment.data", "structure",
          "must be base64Binary" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueAttachment\":{"
                                    "\"name\":\"a\"}")),
          S400, QP ".item[2].answer[0].valueAttachment.name", "structure",
          "unknown element" },
        { __LINE__, QR(MIN_OK "," A("c", "\"valueCoding\":{\"code\":\"a\","
                                    "\"extension\":1}")),
          S400, QP ".item[2].answer[0].valueCoding.extension", "structure",
          "must be a non-empty array of extensions" },
    };

    check_bad(t, NELTS(t));

    /* every element of them, right */

    rc = parse(&req, &test_set, QRI(
        ",\"meta\":{\"versionId\":\"3\","
        "\"lastUpdated\":\"2026-11-27T08:15:00.123+01:00\","
        "\"source\":\"urn:app\",\"profile\":[\"http://p/1\",\"http://p/2\"],"
        "\"security\":[{\"system\":\"http://s\",\"code\":\"R\"}],"
        "\"tag\":[{\"code\":\"t\",\"userSelected\":false}]},"
        "\"text\":{\"status\":\"generated\",\"div\":\"<div>x</div>\"},"
        "\"identifier\":{\"use\":\"official\",\"type\":{\"coding\":[{"
        "\"system\":\"http://t\",\"version\":\"1\",\"code\":\"MR\","
        "\"display\":\"MR\",\"userSelected\":true}],\"text\":\"MR\"},"
        "\"system\":\"https://app.example.org/fhir/qr-id\","
        "\"value\":\"ABC-123\",\"period\":{\"start\":\"2026\","
        "\"end\":\"2026-11-27T08:15:00Z\"},\"assigner\":{"
        "\"reference\":\"Organization/o\",\"type\":\"Organization\","
        "\"display\":\"O\",\"identifier\":{\"value\":\"o-1\"}}},"
        "\"basedOn\":[{\"type\":\"CarePlan\",\"identifier\":{\"use\":"
        "\"temp\",\"value\":\"c\"}}],"
        "\"author\":{\"display\":\"Dr A\"}"));
    CHECK_INT("every datatype", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }
    CHECK_STR("v5 id", req.sub.id, "3c60d0ce-378e-55e3-9e57-c5c303fbfba2");

    rc = parse(&req, &test_set, QR(MIN_OK ","
        A("s", "\"valueAttachment\":{\"contentType\":\"text/plain\","
          "\"language\":\"en\",\"data\":\"aGk=\",\"url\":\"http://a\","
          "\"size\":2,\"hash\":\"AAAA\",\"title\":\"t\","
          "\"creation\":\"2026\"}")));
    CHECK(rc == EPRO_ERROR && req.nstructure == 0
          && has_issue(&req, QP ".item[2].answer[0].valueAttachment",
                       "value", "takes a valueString"));
}


/* FHIR JSON's "_x": the id and extensions of a primitive x */

#define PX   "{\"extension\":[{\"url\":\"http://x\",\"valueString\":\"a\"}]}"

static void
test_primitive_extensions(void)
{
    int                  rc;
    char                 want[256];
    epro_fhir_request_t  req;

    static const bad_t  t[] = {

        /* only beside a primitive */

        { __LINE__, QRI(",\"_subject\":" PX), S400, QP "._subject",
          "structure", "only a primitive" },
        { __LINE__, QRI(",\"_item\":" PX), S400, QP "._item",
          "structure", "only a primitive" },
        { __LINE__, QRI(",\"_resourceType\":" PX), S400,
          QP "._resourceType", "structure", "only a primitive" },
        { __LINE__, QRI(",\"_foo\":" PX), S400, QP "._foo", "structure",
          "unknown element" },
        { __LINE__, QRI(",\"__status\":" PX), S400, QP ".__status",
          "structure", "unknown element" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"_answer\":" PX "}"),
          S400, QP ".item[2]._answer", "structure", "only a primitive" },
        { __LINE__, QR(MIN_OK ",{\"linkId\":\"s\",\"_id\":" PX "}"),
          S400, QP ".item[2]._id", "structure", "only a primitive" },
        { __LINE__, QR(MIN_OK "," A("c", "\"valueCoding\":{\"code\":\"a\"},"
                                    "\"_valueCoding\":" PX)),
          S400, QP ".item[2].answer[0]._valueCoding", "structure",
          "only a primitive" },
        { __LINE__, QRI(",\"identifier\":{\"_period\":" PX "}"), S400,
          QP ".identifier._period", "structure", "only a primitive" },

        /* once, an object of id and extensions */

        { __LINE__, QRI(",\"_status\":" PX ",\"_status\":" PX), S400,
          QP "._status", "structure", "duplicate element" },
        { __LINE__, QRI(",\"_status\":\"x\""), S400, QP "._status",
          "structure", "must be a non-empty object" },
        { __LINE__, QRI(",\"_status\":{}"), S400, QP "._status",
          "structure", "must be a non-empty object" },
        { __LINE__, QRI(",\"_status\":[" PX "]"), S400, QP "._status",
          "structure", "must be a non-empty object" },
        { __LINE__, QRI(",\"_status\":{\"value\":\"x\"}"), S400,
          QP "._status.value", "structure", "unknown element" },
        { __LINE__, QRI(",\"_status\":{\"id\":1}"), S400,
          QP "._status.id", "structure", "must be a non-empty string" },
        { __LINE__, QRI(",\"_status\":{\"extension\":[{}]}"), S400,
          QP "._status.extension", "structure", "an extension is an object" },
        { __LINE__, QRI(",\"_status\":{\"_id\":\"a\"}"), S400,
          QP "._status._id", "structure", "only a primitive" },
        { __LINE__, QRI(",\"identifier\":{\"period\":{\"_start\":1}}"),
          S400, QP ".identifier.period._start", "structure",
          "must be a non-empty object" },
        { __LINE__, QR(MIN_OK "," A("s", "\"valueString\":\"x\","
                                    "\"_valueString\":{\"url\":\"u\"}")),
          S400, QP ".item[2].answer[0]._valueString.url", "structure",
          "unknown element" },

        /* beside a list: as long as it, of those or nulls */

        { __LINE__, QRI(",\"meta\":{\"profile\":[\"http://p\",\"http://q\"],"
                        "\"_profile\":[null]}"), S400,
          QP ".meta._profile", "structure", "must be as long as profile" },
        { __LINE__, QRI(",\"meta\":{\"profile\":[\"http://p\"],"
                        "\"_profile\":" PX "}"), S400,
          QP ".meta._profile", "structure", "must be a non-empty array" },
        { __LINE__, QRI(",\"meta\":{\"profile\":[\"http://p\",\"http://q\"],"
                        "\"_profile\":[null,1]}"), S400,
          QP ".meta._profile[1]", "structure", "must be a non-empty object" },

        /* an answer's value[x] is one, "_valueX" too */

        { __LINE__, QR(MIN_OK "," A("s", "\"valueString\":\"x\","
                                    "\"_valueInteger\":" PX)),
          S400, QP ".item[2].answer[0]._valueInteger", "structure",
          "only one value[x]" },

        /* "_x" without x: what is required still is */

        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\",\"_status\":" PX ","
                    "\"subject\":{\"reference\":\"Patient/p1\"},"
                    "\"authored\":\"2026-11-27T08:15:00Z\"}", S400,
          QP ".status", "required", "status is required" },
        { __LINE__, QR(MIN_OK ",{\"_linkId\":" PX ",\"answer\":[{"
                       "\"valueString\":\"x\"}]}"),
          S400, QP ".item[2]", "required", "linkId is required" },
        { __LINE__, "{\"resourceType\":\"QuestionnaireResponse\","
                    "\"questionnaire\":\"http://t/q|1\","
                    "\"status\":\"in-progress\","
                    "\"subject\":{\"reference\":\"Patient/p1\"},"
                    "\"_authored\":" PX "}", S422,
          QP ".authored", "required", "authored is required" },

        /* a null in a list of primitives only beside a "_x" entry */

        { __LINE__, QRI(",\"meta\":{\"profile\":[\"http://p\",null]}"), S400,
          QP ".meta.profile[1]", "structure", "must be" },
        { __LINE__, QRI(",\"meta\":{\"profile\":[\"http://p\",null],"
                        "\"_profile\":[" PX ",null]}"), S400,
          QP ".meta.profile[1]", "structure", "must be" },

        /* extensions: ext-1 both ways, nested ones, an id, value[x] */

        { __LINE__, QRI(",\"extension\":[{\"url\":\"http://x\"}]"), S400,
          QP ".extension", "structure", "(ext-1)" },
        { __LINE__, QRI(",\"extension\":[{\"url\":\"http://x\","
                        "\"extension\":[{\"url\":\"http://y\",\"foo\":1}]}]"),
          S400, QP ".extension", "structure", "only id, extension, url" },
        { __LINE__, QRI(",\"extension\":[{\"url\":\"http://x\","
                        "\"extension\":[{\"url\":\"http://y\"}]}]"),
          S400, QP ".extension", "structure", "(ext-1)" },
        { __LINE__, QRI(",\"extension\":[{\"url\":\"http://x\",\"id\":5,"
                        "\"valueString\":\"a\"}]"),
          S400, QP ".extension", "structure", "a non-empty string" },
        { __LINE__, QRI(",\"extension\":[{\"url\":\"http://x\",\"value\":5}]"),
          S400, QP ".extension", "structure", "only id, extension, url" },
        { __LINE__, QRI(",\"extension\":[{\"url\":\"http://x\","
                        "\"_valueCode\":5}]"),
          S400, QP ".extension", "structure", "must be" },
    };

    check_bad(t, NELTS(t));

    /* an extension's value with extensions of its own, or those alone
     * (data-absent-reason); an element id is a string, not an id */

    rc = parse(&req, &test_set,
               QRI(",\"extension\":[{\"url\":\"http://x\",\"valueString\":"
                   "\"a\",\"_valueString\":" PX "},{\"url\":\"http://y\","
                   "\"_valueCode\":" PX "},{\"url\":\"http://z\",\"extension\":"
                   "[{\"url\":\"w\",\"valueBoolean\":true}]}]"));
    CHECK_INT("extensions of an extension's value", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    rc = parse(&req, &test_set,
               QRI(",\"meta\":{\"profile\":[\"http://p\",null],"
                   "\"_profile\":[null," PX "]}"));
    CHECK_INT("a null in meta.profile beside its _profile entry", rc,
              EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    rc = parse(&req, &test_set, QR(MIN_OK ",{\"id\":\"item_1:x\",\"linkId\":"
                                   "\"s\",\"answer\":[{\"id\":\"a/1\","
                                   "\"valueString\":\"x\"}]}"));
    CHECK_INT("element ids are strings", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    /* an answer of "_valueString" alone: no value (R4 value[x] 0..1) */

    rc = parse(&req, &test_set, QR(MIN_OK ",{\"linkId\":\"s\",\"answer\":"
                                   "[{\"_valueString\":" PX "}]}"));
    CHECK_INT("an answer of _valueString alone", rc, EPRO_OK);

    /* everywhere a primitive is; the answers and score as without */

#define PX_ITEMS(px)                                                        \
    "{\"linkId\":\"b\"" px(linkId) px(text) ",\"text\":\"B?\","             \
    "\"definition\":\"http://d\"" px(definition) ",\"answer\":[{"           \
    "\"valueBoolean\":true" px(valueBoolean) "}]},"                         \
    "{\"linkId\":\"g\",\"item\":[{\"linkId\":\"g1\",\"answer\":[{"          \
    "\"valueInteger\":1" px(valueInteger) "}]}]},"                          \
    "{\"linkId\":\"dt\",\"answer\":[{\"valueDate\":\"2020-01-01\""          \
    px(valueDate) "}]},"                                                    \
    "{\"linkId\":\"s\",\"answer\":[{\"valueString\":\"x\""                  \
    px(valueString) "}]},"                                                  \
    "{\"linkId\":\"c\",\"answer\":[{\"valueCoding\":{\"system\":"           \
    "\"http://s\"" px(system) ",\"code\":\"b\"" px(code) "}}]}"

#define PX_ON(name)     ",\"_" #name "\":" PX
#define PX_OFF(name)    ""

#define PX_TOP(px)                                                          \
    "{\"resourceType\":\"QuestionnaireResponse\",\"id\":\"x\"" px(id)      \
    ",\"implicitRules\":\"http://r\"" px(implicitRules)                     \
    ",\"language\":\"en\"" px(language)                                     \
    ",\"meta\":{\"versionId\":\"1\"" px(versionId)                          \
    ",\"profile\":[\"http://p\",\"http://q\"]"                              \
    ",\"_profile\":[null,{\"id\":\"p2\"}]},"                                \
    "\"text\":{\"status\":\"generated\"" px(status)                         \
    ",\"div\":\"<div/>\"" px(div) "},"                                      \
    "\"identifier\":{\"system\":\"urn:s\"" px(system)                       \
    ",\"value\":\"v\"" px(value) ",\"period\":{\"start\":\"2026\""          \
    px(start) "}},"                                                         \
    "\"questionnaire\":\"http://t/q|1\"" px(questionnaire)                  \
    ",\"status\":\"completed\"" px(status)                                  \
    ",\"subject\":{\"reference\":\"Patient/p1\"" px(reference)              \
    ",\"display\":\"P\"" px(display) "},"                                   \
    "\"authored\":\"2026-11-27T08:15:00Z\"" px(authored)                    \
    ",\"item\":[" PX_ITEMS(px) "]}"

    rc = parse(&req, &test_set, PX_TOP(PX_OFF));
    CHECK_INT("without _x", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    snprintf(want, sizeof(want), "%.*s", (int) req.answers.len,
             req.answers.data ? req.answers.data : "");
    CHECK(req.has_score && req.score == 2);

    rc = parse(&req, &test_set, PX_TOP(PX_ON));
    CHECK_INT("with _x", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }

    CHECK_S("the same answers", req.answers, want);
    CHECK(req.has_score && req.score == 2);
    CHECK_S("status", req.fhir_status, "completed");
    CHECK_STR("collected", req.sub.collected, "2026-11-27T08:15:00Z");
}


static void
test_enable_when(void)
{
    int                  rc;
    char                 err[256];
    size_t               i;
    epro_fhir_set_t      set;
    epro_fhir_request_t  req;

    /* x is answered when its enableWhen holds (all or any) */

#define EW_Q(ew, behavior)                                                  \
    "{\"resourceType\":\"Questionnaire\",\"url\":\"http://ew\",\"item\":["  \
    "{\"linkId\":\"n\",\"type\":\"integer\"},"                              \
    "{\"linkId\":\"c\",\"type\":\"choice\",\"answerOption\":["             \
    "{\"valueCoding\":{\"system\":\"s\",\"code\":\"y\"}},"                  \
    "{\"valueCoding\":{\"system\":\"s\",\"code\":\"n\"}}]},"                \
    "{\"linkId\":\"x\",\"type\":\"string\"" behavior ",\"enableWhen\":["    \
    ew "]},"                                                                \
    "{\"linkId\":\"late\",\"type\":\"boolean\"}]}"

#define EW(q, op, v)                                                        \
    "{\"question\":\"" q "\",\"operator\":\"" op "\"," v "}"

#define EW_R(items)                                                         \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"questionnaire\":\"http://ew\",\"status\":\"completed\","             \
    "\"subject\":{\"reference\":\"Patient/p\"},"                            \
    "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":[" items "]}"

#define N(v)   A("n", "\"valueInteger\":" #v)
#define C(v)   A("c", "\"valueCoding\":{\"system\":\"s\",\"code\":\"" v "\"}")
#define X      A("x", "\"valueString\":\"on\"")
#define LATE   A("late", "\"valueBoolean\":true")

    static const struct {
        int          line;
        const char  *q;
        const char  *items;
        int          enabled;
    } t[] = {
        { __LINE__, EW_Q(EW("n", "exists", "\"answerBoolean\":true"), ""),
          N(1) "," X, 1 },
        { __LINE__, EW_Q(EW("n", "exists", "\"answerBoolean\":true"), ""),
          X, 0 },
        { __LINE__, EW_Q(EW("n", "exists", "\"answerBoolean\":false"), ""),
          X, 1 },
        { __LINE__, EW_Q(EW("n", "exists", "\"answerBoolean\":false"), ""),
          N(1) "," X, 0 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerInteger\":2"), ""),
          N(2) "," X, 1 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerInteger\":2"), ""),
          N(3) "," X, 0 },
        { __LINE__, EW_Q(EW("n", "!=", "\"answerInteger\":2"), ""),
          N(3) "," X, 1 },
        { __LINE__, EW_Q(EW("n", "!=", "\"answerInteger\":2"), ""),
          N(2) "," X, 0 },
        { __LINE__, EW_Q(EW("n", "!=", "\"answerInteger\":2"), ""), X, 0 },
        { __LINE__, EW_Q(EW("n", ">", "\"answerInteger\":2"), ""),
          N(3) "," X, 1 },
        { __LINE__, EW_Q(EW("n", ">", "\"answerInteger\":2"), ""),
          N(2) "," X, 0 },
        { __LINE__, EW_Q(EW("n", "<", "\"answerDecimal\":2.5"), ""),
          N(2) "," X, 1 },
        { __LINE__, EW_Q(EW("n", "<", "\"answerDecimal\":2.5"), ""),
          N(3) "," X, 0 },
        { __LINE__, EW_Q(EW("n", ">=", "\"answerInteger\":2"), ""),
          N(2) "," X, 1 },
        { __LINE__, EW_Q(EW("n", ">=", "\"answerInteger\":2"), ""),
          N(1) "," X, 0 },
        { __LINE__, EW_Q(EW("n", "<=", "\"answerInteger\":2"), ""),
          N(2) "," X, 1 },
        { __LINE__, EW_Q(EW("n", "<=", "\"answerInteger\":2"), ""),
          N(3) "," X, 0 },
        { __LINE__, EW_Q(EW("c", "=", "\"answerCoding\":{\"system\":\"s\","
                            "\"code\":\"y\"}"), ""), C("y") "," X, 1 },
        { __LINE__, EW_Q(EW("c", "=", "\"answerCoding\":{\"system\":\"s\","
                            "\"code\":\"y\"}"), ""), C("n") "," X, 0 },
        { __LINE__, EW_Q(EW("c", "!=", "\"answerCoding\":{\"code\":\"y\"}"),
                         ""), C("n") "," X, 1 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerString\":\"2\""), ""),
          N(2) "," X, 0 },
        { __LINE__, EW_Q(EW("late", "=", "\"answerBoolean\":true"), ""),
          X "," LATE, 1 },
        { __LINE__, EW_Q(EW("late", "=", "\"answerBoolean\":true"), ""),
          X, 0 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerInteger\":1") ","
                         EW("c", "=", "\"answerCoding\":{\"code\":\"y\"}"),
                         ",\"enableBehavior\":\"all\""),
          N(1) "," C("y") "," X, 1 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerInteger\":1") ","
                         EW("c", "=", "\"answerCoding\":{\"code\":\"y\"}"),
                         ",\"enableBehavior\":\"all\""),
          N(1) "," C("n") "," X, 0 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerInteger\":1") ","
                         EW("c", "=", "\"answerCoding\":{\"code\":\"y\"}"),
                         ",\"enableBehavior\":\"any\""),
          N(1) "," C("n") "," X, 1 },
        { __LINE__, EW_Q(EW("n", "=", "\"answerInteger\":1") ","
                         EW("c", "=", "\"answerCoding\":{\"code\":\"y\"}"),
                         ",\"enableBehavior\":\"any\""),
          N(2) "," C("n") "," X, 0 },
    };

    for (i = 0; i < NELTS(t); i++) {
        memset(&set, 0, sizeof(epro_fhir_set_t));

        rc = load(&set, t[i].q, err, sizeof(err));

        if (!check(__FILE__, t[i].line, rc == EPRO_OK, "load: %s", err)) {
            continue;
        }

        {
            sb_t  b;

            memset(&b, 0, sizeof(sb_t));
            sb_add(&b, "{\"resourceType\":\"QuestionnaireResponse\","
                   "\"questionnaire\":\"http://ew\",\"status\":"
                   "\"completed\",\"subject\":{\"reference\":"
                   "\"Patient/p\"},\"authored\":\"2026-11-27T08:15:00Z\","
                   "\"item\":[");
            sb_add(&b, t[i].items);
            sb_add(&b, "]}");

            rc = parse(&req, &set, b.data);
        }

        if (t[i].enabled) {
            if (!check(__FILE__, t[i].line, rc == EPRO_OK,
                       "enabled: rc %d", rc))
            {
                dump_issues(&req);
            }

        } else {
            if (!check(__FILE__, t[i].line,
                       rc == EPRO_ERROR && req.status == S422
                       && req.nfound == 1
                       && strstr(req.issues[0].message, "disabled"),
                       "disabled: rc %d", rc))
            {
                dump_issues(&req);
            }
        }
    }

    /* a question that is disabled enables nothing; cycles end */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":\"http://k\","
              "\"item\":[{\"linkId\":\"a\",\"type\":\"boolean\"},"
              "{\"linkId\":\"b\",\"type\":\"integer\",\"enableWhen\":["
              EW("a", "=", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"c\",\"type\":\"string\",\"enableWhen\":["
              EW("b", "exists", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"x\",\"type\":\"string\",\"enableWhen\":["
              EW("y", "exists", "\"answerBoolean\":false") "]},"
              "{\"linkId\":\"y\",\"type\":\"string\",\"enableWhen\":["
              EW("x", "exists", "\"answerBoolean\":false") "]}]}",
              err, sizeof(err));
    CHECK_INT("cascade", rc, EPRO_OK);

#define K_R(items)                                                          \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"questionnaire\":\"http://k\",\"status\":\"completed\","              \
    "\"subject\":{\"reference\":\"Patient/p\"},"                            \
    "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":[" items "]}"

    rc = parse(&req, &set, K_R(A("a", "\"valueBoolean\":true") ","
                               A("b", "\"valueInteger\":1") ","
                               A("c", "\"valueString\":\"x\"")));
    CHECK_INT("cascade, enabled", rc, EPRO_OK);

    rc = parse(&req, &set, K_R(A("a", "\"valueBoolean\":false") ","
                               A("b", "\"valueInteger\":1") ","
                               A("c", "\"valueString\":\"x\"")));

    if (!CHECK(rc == EPRO_ERROR && req.nfound == 2
               && has_issue(&req, "QuestionnaireResponse.item[2]",
                            "business-rule", "\"c\" is answered but")))
    {
        dump_issues(&req);
    }

    rc = parse(&req, &set, K_R(A("a", "\"valueBoolean\":false") ","
                               A("x", "\"valueString\":\"x\"")));

    CHECK_INT("a cycle, x without y", rc, EPRO_OK);

    rc = parse(&req, &set, K_R(A("x", "\"valueString\":\"x\"") ","
                               A("y", "\"valueString\":\"y\"")));
    CHECK(rc == EPRO_OK || rc == EPRO_ERROR);    /* ill-defined; it ends */

    /* a disabled group's items are disabled too, and not required */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":\"http://g\","
              "\"item\":[{\"linkId\":\"on\",\"type\":\"boolean\"},"
              "{\"linkId\":\"g\",\"type\":\"group\",\"required\":true,"
              "\"enableWhen\":[{\"question\":\"on\",\"operator\":\"=\","
              "\"answerBoolean\":true}],\"item\":[{\"linkId\":\"r\","
              "\"type\":\"string\",\"required\":true}]}]}",
              err, sizeof(err));
    CHECK_INT("group enableWhen", rc, EPRO_OK);

#define G_R(items)                                                          \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"questionnaire\":\"http://g\",\"status\":\"completed\","              \
    "\"subject\":{\"reference\":\"Patient/p\"},"                            \
    "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":[" items "]}"

    rc = parse(&req, &set, G_R(A("on", "\"valueBoolean\":false")));
    CHECK_INT("disabled group, absent", rc, EPRO_OK);

    rc = parse(&req, &set, G_R(A("on", "\"valueBoolean\":true")));
    CHECK(rc == EPRO_ERROR && has_issue(&req, "QuestionnaireResponse",
                                        "required", "\"g\" is required"));

    rc = parse(&req, &set, G_R(A("on", "\"valueBoolean\":false") ","
                               "{\"linkId\":\"g\",\"item\":["
                               A("r", "\"valueString\":\"x\"") "]}"));
    if (!CHECK(rc == EPRO_ERROR && req.nfound == 1
              && has_issue(&req, "QuestionnaireResponse.item[1].item[0]",
                           "business-rule", "disabled")))
    {
        dump_issues(&req);
    }

    rc = parse(&req, &set, G_R(A("on", "\"valueBoolean\":true") ","
                               "{\"linkId\":\"g\"}"));
    if (!CHECK(rc == EPRO_ERROR && req.nfound == 1
              && has_issue(&req, "QuestionnaireResponse.item[1]", "required",
                           "item \"r\" is required")))
    {
        dump_issues(&req);
    }

    /*
     * In a repeating group a question's answers are those of the same
     * repetition (the reference validator's getCommonGroup); a question
     * outside the group is looked for in the whole response, and a
     * question nesting the item in its answers is its own instance.
     */

    memset(&set, 0, sizeof(epro_fhir_set_t));

    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":\"http://r\","
              "\"item\":[{\"linkId\":\"all\",\"type\":\"boolean\"},"
              "{\"linkId\":\"g\",\"type\":\"group\",\"repeats\":true,"
              "\"item\":[{\"linkId\":\"has\",\"type\":\"boolean\"},"
              "{\"linkId\":\"what\",\"type\":\"string\",\"required\":true,"
              "\"enableWhen\":[" EW("has", "=", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"note\",\"type\":\"string\",\"enableWhen\":["
              EW("all", "=", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"n\",\"type\":\"integer\",\"repeats\":true,"
              "\"item\":[{\"linkId\":\"big\",\"type\":\"string\","
              "\"enableWhen\":[" EW("n", ">", "\"answerInteger\":5") "]}]}]},"
              "{\"linkId\":\"any\",\"type\":\"string\",\"enableWhen\":["
              EW("has", "=", "\"answerBoolean\":true") "]}]}",
              err, sizeof(err));
    CHECK_INT("repeating group enableWhen", rc, EPRO_OK);

#define R_R(items)                                                          \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"questionnaire\":\"http://r\",\"status\":\"completed\","              \
    "\"subject\":{\"reference\":\"Patient/p\"},"                            \
    "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":[" items "]}"
#define R_G(items)  "{\"linkId\":\"g\",\"item\":[" items "]}"
#define HAS(v)      A("has", "\"valueBoolean\":" #v)
#define WHAT        A("what", "\"valueString\":\"x\"")

    {
        static const struct {
            int          line;
            const char  *body;
            const char  *expr;      /* NULL: valid */
            const char  *text;
        } r[] = {
            { __LINE__, R_R(R_G(HAS(false)) "," R_G(HAS(true) "," WHAT)),
              NULL, NULL },
            { __LINE__, R_R(R_G(HAS(true) "," WHAT) "," R_G(HAS(false))),
              NULL, NULL },
            { __LINE__, R_R(R_G(HAS(true) "," WHAT) ","
                            R_G(HAS(false) "," WHAT)),
              "QuestionnaireResponse.item[1].item[1]",
              "\"what\" is answered but disabled" },
            { __LINE__, R_R(R_G(HAS(false)) "," R_G(HAS(true))),
              "QuestionnaireResponse.item[1]", "item \"what\" is required" },
            { __LINE__, R_R(R_G(HAS(true) "," WHAT) "," R_G(HAS(true))),
              "QuestionnaireResponse.item[1]", "item \"what\" is required" },
            { __LINE__, R_R(A("all", "\"valueBoolean\":true") ","
                            R_G(A("note", "\"valueString\":\"x\"")) ","
                            R_G(A("note", "\"valueString\":\"y\""))),
              NULL, NULL },
            { __LINE__, R_R(R_G(HAS(false)) ","
                            R_G(A("note", "\"valueString\":\"y\""))),
              "QuestionnaireResponse.item[1].item[0]",
              "\"note\" is answered but disabled" },
            { __LINE__, R_R(R_G(HAS(false)) "," R_G(HAS(true) "," WHAT) ","
                            A("any", "\"valueString\":\"x\"")),
              NULL, NULL },
            { __LINE__, R_R(R_G(HAS(false)) "," R_G(HAS(false)) ","
                            A("any", "\"valueString\":\"x\"")),
              "QuestionnaireResponse.item[2]",
              "\"any\" is answered but disabled" },
            { __LINE__, R_R(R_G("{\"linkId\":\"n\",\"answer\":["
                                "{\"valueInteger\":9,\"item\":["
                                A("big", "\"valueString\":\"x\"") "]},"
                                "{\"valueInteger\":1}]}")),
              NULL, NULL },
            { __LINE__, R_R(R_G("{\"linkId\":\"n\",\"answer\":["
                                "{\"valueInteger\":1,\"item\":["
                                A("big", "\"valueString\":\"x\"") "]}]}")
                            "," R_G("{\"linkId\":\"n\",\"answer\":["
                                    "{\"valueInteger\":9}]}")),
              "QuestionnaireResponse.item[0].item[0].answer[0].item[0]",
              "\"big\" is answered but disabled" },
        };

        for (i = 0; i < NELTS(r); i++) {
            rc = parse(&req, &set, r[i].body);

            if (!check(__FILE__, r[i].line, r[i].expr == NULL
                       ? rc == EPRO_OK
                       : rc == EPRO_ERROR && req.nfound == 1
                         && has_issue(&req, r[i].expr, NULL, r[i].text),
                       "repeating group: rc %d", rc))
            {
                dump_issues(&req);
            }
        }
    }
}


/*
 * enableWhen at scale (a review's findings): every item is evaluated once
 * per instance, however many ask and however deep, so a chain of
 * questions and a body of many copies of them stay linear; a cycle is
 * cut where it closes; an answer not yet checked is checked before it
 * is compared.
 */

static void
test_enable_when_cost(void)
{
    int                  rc;
    char                 err[256];
    size_t               j, k, n;
    clock_t              t0;
    sb_t                 q, r;
    epro_fhir_set_t      set;
    epro_fhir_request_t  req;

#define EWC_R  "{\"resourceType\":\"QuestionnaireResponse\","           \
               "\"questionnaire\":\"http://c\",\"status\":\"completed\","   \
               "\"subject\":{\"reference\":\"Patient/p\"},"                \
               "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":["

    /* q1 <- q2 <- ... <- q40, each enabled by the one before (true) or,
     * reversed, by the one after: all answered true, all enabled */

    for (k = 0; k < 2; k++) {
        memset(&q, 0, sizeof(sb_t));
        memset(&r, 0, sizeof(sb_t));
        sb_add(&q, "{\"resourceType\":\"Questionnaire\",\"url\":"
               "\"http://c\",\"item\":[");
        sb_add(&r, EWC_R);

        for (j = 1; j <= 40; j++) {
            sb_addf(&q, "%s{\"linkId\":\"q%lu\",\"type\":\"boolean\"",
                    j > 1 ? "," : "", (unsigned long) j);

            if (k == 0 ? j > 1 : j < 40) {
                sb_addf(&q, ",\"enableWhen\":[{\"question\":\"q%lu\","
                        "\"operator\":\"=\",\"answerBoolean\":true}]",
                        (unsigned long) (k == 0 ? j - 1 : j + 1));
            }

            sb_add(&q, "}");
            sb_addf(&r, "%s{\"linkId\":\"q%lu\",\"answer\":[{"
                    "\"valueBoolean\":true}]}", j > 1 ? "," : "",
                    (unsigned long) j);
        }

        sb_add(&q, "]}");
        sb_add(&r, "]}");

        memset(&set, 0, sizeof(epro_fhir_set_t));
        rc = load(&set, q.data, err, sizeof(err));
        CHECK_INT("chain of 40: load", rc, EPRO_OK);

        rc = parse(&req, &set, r.data);
        if (!check_loop(AT, rc == EPRO_OK, "chain of 40 (%s): rc %d",
                        k ? "reversed" : "in order", rc))
        {
            dump_issues(&req);
        }
    }

    /* the same chain of 5 with 2000 bare copies of each question, and a
     * cycle (x needs no y, y needs no x) with 2000 copies of each: 400s
     * (qrs-2), in well under a second where it took minutes */

    for (k = 0; k < 2; k++) {
        memset(&r, 0, sizeof(sb_t));
        sb_add(&r, EWC_R);
        n = 0;

        for (j = 0; j < 2000; j++) {
            if (k == 0) {
                sb_addf(&r, "%s{\"linkId\":\"q1\"},{\"linkId\":\"q2\"},"
                        "{\"linkId\":\"q3\"},{\"linkId\":\"q4\"},"
                        "{\"linkId\":\"q5\"}", n++ ? "," : "");

            } else {
                sb_addf(&r, "%s{\"linkId\":\"x\"},{\"linkId\":\"y\"}",
                        n++ ? "," : "");
            }
        }

        sb_add(&r, "]}");

        memset(&set, 0, sizeof(epro_fhir_set_t));
        rc = load(&set, k == 0
            ? "{\"resourceType\":\"Questionnaire\",\"url\":\"http://c\","
              "\"item\":[{\"linkId\":\"q1\",\"type\":\"boolean\"},"
              "{\"linkId\":\"q2\",\"type\":\"boolean\",\"enableWhen\":["
              EW("q1", "=", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"q3\",\"type\":\"boolean\",\"enableWhen\":["
              EW("q2", "=", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"q4\",\"type\":\"boolean\",\"enableWhen\":["
              EW("q3", "=", "\"answerBoolean\":true") "]},"
              "{\"linkId\":\"q5\",\"type\":\"boolean\",\"enableWhen\":["
              EW("q4", "=", "\"answerBoolean\":true") "]}]}"
            : "{\"resourceType\":\"Questionnaire\",\"url\":\"http://c\","
              "\"item\":[{\"linkId\":\"x\",\"type\":\"string\","
              "\"enableWhen\":[" EW("y", "exists", "\"answerBoolean\":false")
              "]},{\"linkId\":\"y\",\"type\":\"string\",\"enableWhen\":["
              EW("x", "exists", "\"answerBoolean\":false") "]}]}",
            err, sizeof(err));
        CHECK_INT("copies: load", rc, EPRO_OK);

        t0 = clock();
        rc = parse(&req, &set, r.data);

        check_loop(AT, rc == EPRO_ERROR && req.status == S422
                       && (double) (clock() - t0) / CLOCKS_PER_SEC < 1.0,
                   "%s, 2000 copies: rc %d, %.3f s", k ? "cycle" : "chain",
                   rc, (double) (clock() - t0) / CLOCKS_PER_SEC);
    }

    /* an answer the walk has not checked yet is checked before it is
     * compared (an 8-byte time compare read past "1"); a Quantity without
     * a value is no number: stored as null, less than nothing */

    memset(&set, 0, sizeof(epro_fhir_set_t));
    rc = load(&set, "{\"resourceType\":\"Questionnaire\",\"url\":"
              "\"http://c\",\"item\":[{\"linkId\":\"t\",\"type\":\"time\"},"
              "{\"linkId\":\"d\",\"type\":\"dateTime\"},"
              "{\"linkId\":\"w\",\"type\":\"quantity\"},"
              "{\"linkId\":\"x\",\"type\":\"string\",\"enableBehavior\":"
              "\"any\",\"enableWhen\":["
              EW("t", "=", "\"answerTime\":\"10:00:00\"") ","
              EW("d", ">", "\"answerDateTime\":\"2020-01-01T00:00:00Z\"") ","
              EW("w", "<", "\"answerQuantity\":{\"value\":5}") "]}]}",
              err, sizeof(err));
    CHECK_INT("unchecked answers: load", rc, EPRO_OK);

    rc = parse(&req, &set, EWC_R A("t", "\"valueTime\":\"1\"") ","
                           A("d", "\"valueDateTime\":\"2020-01-01T00:00:00+\"")
                           "," A("x", "\"valueString\":\"a\"") "]}");
    CHECK(rc == EPRO_ERROR && req.status == S400
          && has_issue(&req, "QuestionnaireResponse.item[0].answer[0]."
                       "valueTime", "structure", ""));

    rc = parse(&req, &set, EWC_R A("w", "\"valueQuantity\":{\"unit\":"
                           "\"kg\"}") "]}");
    CHECK_INT("a Quantity without a value", rc, EPRO_OK);
    CHECK(rc != EPRO_OK || strcmp(req.answers.data, "{\"w\":null}") == 0);

    rc = parse(&req, &set, EWC_R A("w", "\"valueQuantity\":{\"unit\":"
                           "\"kg\"}") "," A("x", "\"valueString\":\"a\"")
                           "]}");
    CHECK(rc == EPRO_ERROR
          && has_issue(&req, "QuestionnaireResponse.item[1]",
                       "business-rule", "disabled"));
}


static void
test_every_issue(void)
{
    int                  rc;
    size_t               i;
    sb_t                 b;
    epro_buf_t           out;
    epro_request_t       chk;
    epro_fhir_request_t  req;

    /* several problems at once: all of them */

    rc = parse(&req, &test_set, QR(
        A("b", "\"valueString\":\"yes\"") ","
        A("i", "\"valueInteger\":99") ","
        A("s", "\"valueString\":\"toolong\"") ","
        A("c", "\"valueCoding\":{\"system\":\"http://s\",\"code\":\"q\"}")));
    CHECK_INT("several", rc, EPRO_ERROR);
    CHECK_INT("several status", req.status, S422);
    CHECK_INT("several nfound", req.nfound, 5);
    CHECK(has_issue(&req, QP ".item[0].answer[0].valueString", "value", ""));
    CHECK(has_issue(&req, QP ".item[1].answer[0].valueInteger", "value",
                    ""));
    CHECK(has_issue(&req, QP ".item[2].answer[0].valueString", "value", ""));
    CHECK(has_issue(&req, QP ".item[3].answer[0].valueCoding",
                    "code-invalid", ""));
    CHECK(has_issue(&req, QP, "required", "\"g\""));

    /* structure and rules: 400, with the rules' issues too */

    rc = parse(&req, &test_set, QR_HEAD("completed") ",\"foo\":1,"
               "\"item\":[" A("i", "\"valueInteger\":99") "]}");
    CHECK(rc == EPRO_ERROR && req.status == S400
          && req.nstructure == 1 && req.nfound == 4);

    /* past EPRO_MAX_ERRORS: counted, not kept; the outcome says so */

    memset(&b, 0, sizeof(sb_t));
    sb_add(&b, QR_HEAD("completed") ",\"item\":[");

    for (i = 0; i < 30; i++) {
        sb_addf(&b, "%s{\"linkId\":\"nope%lu\"}", i ? "," : "",
                (unsigned long) i);
    }

    sb_add(&b, "]}");

    rc = parse(&req, &test_set, b.data);
    CHECK_INT("many", rc, EPRO_ERROR);
    CHECK_INT("many nissues", req.nissues, EPRO_MAX_ERRORS);
    CHECK_INT("many nfound", req.nfound, 32);
    CHECK(req.truncated);

    memset(&out, 0, sizeof(epro_buf_t));
    CHECK_INT("outcome", epro_fhir_outcome_json(&out, &req, &req_alloc),
              EPRO_OK);

    memset(&chk, 0, sizeof(epro_request_t));
    CHECK_INT("outcome is JSON", epro_json_check(out.data, out.len, &chk,
                                                 &req_alloc),
              EPRO_OK);
    CHECK(strstr(out.data, "{\"severity\":\"information\",\"code\":"
                           "\"too-costly\",\"diagnostics\":\"12 more issues "
                           "were found\"}]}\n") != NULL);

    /* one issue, exactly */

    rc = parse(&req, &test_set, QR(MIN_OK "," A("i", "\"valueInteger\":11")));
    memset(&out, 0, sizeof(epro_buf_t));
    CHECK_INT("outcome", epro_fhir_outcome_json(&out, &req, &req_alloc),
              EPRO_OK);
    CHECK_STR("outcome", out.data,
              "{\"resourceType\":\"OperationOutcome\",\"issue\":["
              "{\"severity\":\"error\",\"code\":\"value\",\"diagnostics\":"
              "\"is above the maxValue, 10\",\"expression\":["
              "\"QuestionnaireResponse.item[2].answer[0].valueInteger\"]}"
              "]}\n");

    /* malformed JSON: no expression */

    rc = parse(&req, &test_set, "{\"a\":01}");
    memset(&out, 0, sizeof(epro_buf_t));
    CHECK_INT("outcome", epro_fhir_outcome_json(&out, &req, &req_alloc),
              EPRO_OK);
    CHECK(strncmp(out.data, "{\"resourceType\":\"OperationOutcome\","
                  "\"issue\":[{\"severity\":\"error\",\"code\":"
                  "\"structure\",\"diagnostics\":\"/a: malformed JSON", 110)
          == 0 && strstr(out.data, "expression") == NULL);

    /* none: an informational issue */

    rc = parse(&req, &test_set, QR(MIN_OK));
    CHECK_INT("ok", rc, EPRO_OK);
    memset(&out, 0, sizeof(epro_buf_t));
    CHECK_INT("outcome", epro_fhir_outcome_json(&out, &req, &req_alloc),
              EPRO_OK);
    CHECK_STR("outcome", out.data,
              "{\"resourceType\":\"OperationOutcome\",\"issue\":["
              "{\"severity\":\"information\",\"code\":\"informational\","
              "\"diagnostics\":\"accepted\"}]}\n");
}


static void
test_response_nomem(void)
{
    int                  rc;
    long                 k;
    size_t               len;
    const char          *text;
    char                *copy;
    epro_buf_t           out;
    epro_fhir_request_t  req;

    static const char  bad[] = QR(A("i", "\"valueInteger\":11"));

    text = read_file("fhir/phq-9-response.json", &len);
    copy = exact_copy(text, len);

    for (k = 0; ; k++) {
        memset(&req, 0x5a, sizeof(epro_fhir_request_t));
        req.set = &test_set;
        req_arena.fail_after = (long) req_arena.nallocs + k;

        rc = epro_fhir_parse(&req, copy, len, &req_alloc);
        req_arena.fail_after = -1;

        if (rc == EPRO_OK) {
            break;
        }

        check_loop(AT, rc == EPRO_NOMEM, "with %ld allocations: %d", k, rc);
    }

    CHECK(k > 5 && req.score == 10);

    /* and an invalid one, with its outcome */

    len = sizeof(bad) - 1;
    copy = exact_copy(bad, len);

    for (k = 0; ; k++) {
        memset(&req, 0x5a, sizeof(epro_fhir_request_t));
        req.set = &test_set;
        memset(&out, 0, sizeof(epro_buf_t));
        req_arena.fail_after = (long) req_arena.nallocs + k;

        rc = epro_fhir_parse(&req, copy, len, &req_alloc);

        if (rc == EPRO_ERROR) {
            rc = epro_fhir_outcome_json(&out, &req, &req_alloc);
        }

        req_arena.fail_after = -1;

        if (rc == EPRO_OK) {
            break;
        }

        check_loop(AT, rc == EPRO_NOMEM, "with %ld allocations: %d", k, rc);
    }

    CHECK(k > 3 && req.nfound == 3 && out.len > 0);
}


static void
test_shipped_responses(void)
{
    int                  rc;
    epro_fhir_request_t  req;

#define SHIP(q, items)                                                      \
    "{\"resourceType\":\"QuestionnaireResponse\",\"questionnaire\":\""      \
    q "\",\"status\":\"completed\",\"subject\":{\"reference\":"             \
    "\"Patient/p\"},\"authored\":\"2026-11-27T08:15:00+01:00\","            \
    "\"item\":[" items "]}"

#define GA(lid, code)                                                       \
    A(lid, "\"valueCoding\":{\"system\":\"http://loinc.org\",\"code\":\""  \
      code "\"}")

#define EQ(lid, code)                                                       \
    A(lid, "\"valueCoding\":{\"system\":"                                   \
      "\"https://euroqol.org/fhir/CodeSystem/eq-5d-5l-level\","             \
      "\"code\":\"" code "\"}")

    rc = parse(&req, &test_set, SHIP("http://loinc.org/q/69737-5",
        GA("69725-0", "LA6571-9") "," GA("68509-9", "LA6570-1") ","
        GA("69733-4", "LA6569-3") "," GA("69734-2", "LA6568-5") ","
        GA("69735-9", "LA6571-9") "," GA("69689-8", "LA6571-9") ","
        GA("69736-7", "LA6570-1") ","
        A("70274-6", "\"valueInteger\":14")));
    CHECK_INT("gad-7", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }
    CHECK(req.has_score && req.score == 14);

    rc = parse(&req, &test_set, SHIP("http://loinc.org/q/69737-5",
        GA("69725-0", "LA6571-9") "," GA("68509-9", "LA6570-1")));
    CHECK(rc == EPRO_ERROR && req.nfound == 5
          && has_issue(&req, "QuestionnaireResponse", "required",
                       "item \"69736-7\" is required"));

    rc = parse(&req, &test_set, SHIP("https://euroqol.org/fhir/"
                                     "Questionnaire/eq-5d-5l|1.0",
        EQ("mobility", "1") "," EQ("self-care", "2") ","
        EQ("usual-activities", "3") "," EQ("pain-discomfort", "4") ","
        EQ("anxiety-depression", "5") "," A("vas", "\"valueInteger\":70")));
    CHECK_INT("eq-5d-5l", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);
    }
    CHECK(!req.has_score);
    CHECK_S("eq-5d-5l answers", req.answers,
            "{\"mobility\":\"1\",\"self-care\":\"2\","
            "\"usual-activities\":\"3\",\"pain-discomfort\":\"4\","
            "\"anxiety-depression\":\"5\",\"vas\":70}");

    rc = parse(&req, &test_set, SHIP("https://euroqol.org/fhir/"
                                     "Questionnaire/eq-5d-5l",
        EQ("mobility", "6") "," EQ("self-care", "2") ","
        EQ("usual-activities", "3") "," EQ("pain-discomfort", "4") ","
        EQ("anxiety-depression", "5") "," A("vas", "\"valueInteger\":101")));
    if (!CHECK(rc == EPRO_ERROR && req.nfound == 2))
    {
        dump_issues(&req);
    }
}


static void
test_datatypes(void)
{
    size_t             i;
    epro_fhir_value_t  a, b;

    static const struct {
        const char  *s;
        int          ok;
    } dt[] = {
        { "2026", 1 }, { "2026-11", 1 }, { "2026-11-27", 1 },
        { "2026-11-27T08:15:00Z", 1 }, { "2026-11-27T08:15:00.1+14:00", 1 },
        { "2026-11-27T23:59:60-13:59", 1 }, { "2024-02-29", 1 },
        { "0000", 0 }, { "2026-1", 0 }, { "2026-00", 0 }, { "2026-13", 0 },
        { "2026-11-31", 0 }, { "2023-02-29", 0 }, { "2026-11-27T", 0 },
        { "2026-11-27T08:15Z", 0 }, { "2026-11-27T08:15:00", 0 },
        { "2026-11-27T08:15:00+14:01", 0 }, { "2026-11-27T08:15:00.Z", 0 },
        { "2026-11-27T24:00:00Z", 0 }, { "2026-11-27t08:15:00Z", 0 },
        { "2026-11-27T08:15:00+1:00", 0 }, { "2026-11-27T08:15:00Zx", 0 },
        { "", 0 },
    };

#define DT  EPRO_FV_DATETIME
#define DA  EPRO_FV_DATE
#define TM  EPRO_FV_TIME
#define IC  EPRO_FHIR_INCOMPARABLE

    /* instants with their offsets; dates at the precision both have */

    static const struct {
        epro_fhir_kind_e   ka;
        const char        *a;
        epro_fhir_kind_e   kb;
        const char        *b;
        int                c;
    } when[] = {
        { DT, "2026-11-27T08:15:00Z", DT, "2026-11-27T09:15:00+01:00", 0 },
        { DT, "2026-11-27T08:15:00Z", DT, "2026-11-27T08:15:00-01:00", -1 },
        { DT, "2026-11-28T00:30:00+14:00", DT, "2026-11-27T10:00:00Z", 1 },
        { DT, "2026-11-27T23:30:00-10:00", DT, "2026-11-28T09:00:00Z", 1 },
        { DT, "2024-03-01T00:00:00+00:00", DT, "2024-02-29T23:59:59Z", 1 },
        { DT, "1970-01-01T00:00:00Z", DT, "1969-12-31T23:59:59.9Z", 1 },
        { DT, "2026-11-27T08:15:00.5Z", DT, "2026-11-27T08:15:00.50Z", 0 },
        { DT, "2026-11-27T08:15:00Z", DT, "2026-11-27T08:15:00.001Z", -1 },
        { DT, "2026-11-27T08:15:00.01Z", DT, "2026-11-27T08:15:00.009Z",
          1 },
        { DT, "2026-11-27", DA, "2026-11-27", 0 },
        { DA, "2026-11", DA, "2026-12-01", -1 },
        { DA, "2026", DA, "2026-11", IC },
        { DT, "2026-11-27T08:15:00Z", DA, "2026-11-27", IC },
        { DT, "2026-11-27T08:15:00Z", DA, "2026-11-26", 1 },
        { TM, "08:15:00", TM, "08:15:00.0", 0 },
        { TM, "08:15:00.25", TM, "08:15:00.3", -1 },
        { TM, "09:00:00", TM, "08:59:59.999", 1 },
    };

    for (i = 0; i < NELTS(dt); i++) {
        check_loop(AT, (epro_fhir_datetime_valid(dt[i].s, strlen(dt[i].s))
                        == 0) == dt[i].ok, "dateTime \"%s\"", dt[i].s);
    }

    for (i = 0; i < NELTS(when); i++) {
        memset(&a, 0, sizeof(epro_fhir_value_t));
        memset(&b, 0, sizeof(epro_fhir_value_t));
        a.kind = when[i].ka;
        a.str.data = when[i].a;
        a.str.len = strlen(when[i].a);
        b.kind = when[i].kb;
        b.str.data = when[i].b;
        b.str.len = strlen(when[i].b);

        check_loop(AT, epro_fhir_compare(&a, &b) == when[i].c,
                   "compare \"%s\" \"%s\": %d", when[i].a, when[i].b,
                   epro_fhir_compare(&a, &b));
    }

    CHECK_INT("places 1.25", epro_fhir_places(1.25), 2);
    CHECK_INT("places 3", epro_fhir_places(3), 0);
    CHECK_INT("places 0.1", epro_fhir_places(0.1), 1);
    CHECK_INT("places 1e-7", epro_fhir_places(1e-7), 7);
    CHECK_INT("places 1.5e20", epro_fhir_places(1.5e20), 0);
}


/*
 * Deep Questionnaires: a chain of questions, each nested in the answer of
 * the one before, as deep as EPRO_MAX_DEPTH lets a response be (four
 * levels a question); one more question is a 400 naming the nesting.
 */

static void
test_deep(void)
{
    int                  rc;
    char                 err[256];
    size_t               n, k;
    sb_t                 q, r, key;
    epro_fhir_set_t      set;
    epro_fhir_request_t  req;

    for (n = (EPRO_MAX_DEPTH - 1) / 4; n <= (EPRO_MAX_DEPTH - 1) / 4 + 1;
         n++)
    {
        memset(&q, 0, sizeof(sb_t));
        memset(&r, 0, sizeof(sb_t));
        memset(&key, 0, sizeof(sb_t));

        sb_add(&q, "{\"resourceType\":\"Questionnaire\",\"url\":"
               "\"http://deep\",\"item\":[");
        sb_add(&r, "{\"resourceType\":\"QuestionnaireResponse\","
               "\"questionnaire\":\"http://deep\",\"status\":"
               "\"completed\",\"subject\":{\"reference\":"
               "\"Patient/p\"},\"authored\":\"2026-11-27T08:15:00Z\","
               "\"item\":[");

        for (k = 0; k < n; k++) {
            sb_addf(&q, "%s{\"linkId\":\"q%lu\",\"type\":\"integer\","
                    "\"required\":true", k ? ",\"item\":[" : "",
                    (unsigned long) k);
            sb_addf(&r, "%s{\"linkId\":\"q%lu\",\"answer\":[{"
                    "\"valueInteger\":%lu", k ? ",\"item\":[" : "",
                    (unsigned long) k, (unsigned long) k);
            sb_addf(&key, "%sq%lu", k ? "." : "", (unsigned long) k);
        }

        sb_add(&q, "}");
        sb_rep(&q, "]}", n);
        sb_add(&r, "}]}");
        sb_rep(&r, "]}]}", n - 1);
        sb_add(&r, "]}");

        memset(&set, 0, sizeof(epro_fhir_set_t));
        rc = load(&set, q.data, err, sizeof(err));

        if (!check_loop(AT, rc == EPRO_OK, "%lu deep: load: %s",
                        (unsigned long) n, err))
        {
            continue;
        }

        rc = parse(&req, &set, r.data);

        if (4 * n + 1 <= EPRO_MAX_DEPTH) {
            check_loop(AT, rc == EPRO_OK
                           && strstr(req.answers.data, key.data) != NULL,
                       "%lu questions deep: rc %d", (unsigned long) n, rc);

        } else {
            check_loop(AT, rc == EPRO_ERROR && req.status == S400
                           && has_issue(&req, "", "structure", "too deep"),
                       "%lu questions deep: rc %d", (unsigned long) n, rc);
        }
    }
}


/*
 * Numbers as written (issue 11): a tree that kept a double only (cJSON's,
 * before the module built its own) passed "1.0" as an integer and "1.50"
 * as one decimal place; the tree keeps each number's text.
 */

static void
test_number_text(void)
{
    int                  rc;
    char                 err[256];
    sb_t                 b;
    size_t               i;
    epro_fhir_set_t      set;
    epro_fhir_request_t  req;

    static const bad_t  t[] = {
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":1.0")),
          S400, QP ".item[2].answer[0].valueInteger", "structure",
          "must be an integer" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":1e0")),
          S400, QP ".item[2].answer[0].valueInteger", "structure",
          "must be an integer" },
        { __LINE__, QR(MIN_OK "," A("i", "\"valueInteger\":-0")),
          S400, QP ".item[2].answer[0].valueInteger", "structure",
          "must be an integer" },
        { __LINE__, QR(B_TRUE ",{\"linkId\":\"g\",\"item\":["
                       A("g1", "\"valueInteger\":2.0") "]}"),
          S400, QP ".item[1].item[0].answer[0].valueInteger", "structure",
          "must be an integer" },
        { __LINE__, QR(MIN_OK "," A("d", "\"valueDecimal\":1.50")),
          S422, QP ".item[2].answer[0].valueDecimal", "value",
          "1.50 has more than 1 decimal places" },
        { __LINE__, QR(MIN_OK "," A("d", "\"valueDecimal\":5.5e-1")),
          S422, QP ".item[2].answer[0].valueDecimal", "value",
          "5.5e-1 has more than 1 decimal places" },
        { __LINE__, QR(MIN_OK "," A("d", "\"valueDecimal\":0.4000")),
          S422, QP ".item[2].answer[0].valueDecimal", "value",
          "is below the minValue, 0.5" },
    };

    static const char *const  good[] = {
        "\"valueDecimal\":1.5", "\"valueDecimal\":15e-1",
        "\"valueDecimal\":0.15E1", "\"valueDecimal\":2",
        "\"valueDecimal\":0.50e1",
    };

    static const struct {
        const char  *s;
        size_t       places;
    } pl[] = {
        { "1", 0 }, { "-0", 0 }, { "1.50", 2 }, { "1.5e-3", 4 },
        { "1.50e1", 1 }, { "15e-1", 1 }, { "1.5E+2", 0 }, { "0.001", 3 },
        { "1e-308", 308 }, { "1e308", 0 },
    };

    static const char *const  bad_q[] = {
        QX("{\"linkId\":\"a\",\"type\":\"string\",\"maxLength\":5.0}"),
        QX("{\"linkId\":\"a\",\"type\":\"decimal\",\"extension\":["
           EXT("maxDecimalPlaces", "\"valueInteger\":1.0") "]}"),
        QX("{\"linkId\":\"a\",\"type\":\"integer\",\"extension\":["
           EXT("minValue", "\"valueInteger\":1e1") "]}"),
    };

    check_bad(t, NELTS(t));

    for (i = 0; i < NELTS(good); i++) {
        memset(&b, 0, sizeof(sb_t));
        sb_addf(&b, QR(MIN_OK "," A("d", "%s")), good[i]);
        rc = parse(&req, &test_set, b.data);

        if (!check_loop(AT, rc == EPRO_OK, "decimal %s accepted", good[i])) {
            dump_issues(&req);
        }
    }

    /* the flattened answers keep the text: jsonb keeps 1.50 as 1.50 */

    rc = parse(&req, &test_set, QR(MIN_OK "," A("d", "\"valueDecimal\":"
                                              "1.5e0") ","
                                   A("qty", "\"valueQuantity\":{"
                                     "\"value\":2.50,\"unit\":\"kg\"}")));
    CHECK_INT("decimal and quantity", rc, EPRO_OK);
    if (rc != EPRO_OK) {
        dump_issues(&req);

    } else {
        CHECK(strstr(req.answers.data, "\"d\":1.5e0") != NULL);
        CHECK(strstr(req.answers.data, "2.50") != NULL);
    }

    for (i = 0; i < NELTS(pl); i++) {
        check_loop(AT, epro_fhir_places_text(pl[i].s, strlen(pl[i].s))
                       == pl[i].places,
                   "places of %s: %lu, want %lu", pl[i].s,
                   (unsigned long) epro_fhir_places_text(pl[i].s,
                                                         strlen(pl[i].s)),
                   (unsigned long) pl[i].places);
    }

    for (i = 0; i < NELTS(bad_q); i++) {
        memset(&set, 0, sizeof(epro_fhir_set_t));
        rc = load(&set, bad_q[i], err, sizeof(err));
        check_loop(AT, rc == EPRO_ERROR && set.n == 0,
                   "Questionnaire %lu refused (%d: %s)", (unsigned long) i,
                   rc, err);
    }
}


/* ------------------------------------------------------------------ */
/* how long a response takes                                           */


/*
 * A pool that is emptied, not freed, between requests, and that does not
 * fill what it hands out: the cost of the core, not of the test arena.
 */

typedef struct {
    char    *base;
    size_t   used;
    size_t   size;
} bench_pool_t;


static void *
bench_alloc(void *ctx, size_t size)
{
    void          *p;
    bench_pool_t  *bp;

    bp = ctx;
    size = (size + 15) & ~(size_t) 15;

    if (bp->size - bp->used < size) {
        return NULL;
    }

    p = bp->base + bp->used;
    bp->used += size;

    return p;
}


static void
bench_free(void *ctx, void *p)
{
    (void) ctx;
    (void) p;
}


static double
bench_run(const char *what, const char *copy, size_t len, long n, int full)
{
    int                  rc;
    long                 i;
    double               ns;
    bench_pool_t         bp;
    epro_alloc_t         a;
    struct timespec      t0, t1;
    epro_request_t       chk;
    epro_fhir_request_t  req;

    bp.size = 1 << 20;
    bp.base = malloc(bp.size);
    bp.used = 0;

    if (bp.base == NULL) {
        return 0;
    }

    a.alloc = bench_alloc;
    a.free = bench_free;
    a.ctx = &bp;
    rc = EPRO_OK;

    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (i = 0; i < n && rc == EPRO_OK; i++) {
        bp.used = 0;

        if (full) {
            req.set = &test_set;
            rc = epro_fhir_parse(&req, copy, len, &a);

        } else {
            memset(&chk, 0, sizeof(epro_request_t));
            rc = epro_json_check(copy, len, &chk, &a);
        }
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    free(bp.base);

    CHECK_INT(what, rc, EPRO_OK);

    ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;

    printf("bench: %s: %.0f ns each (%ld runs)\n", what, ns, n);

    return ns;
}


static void
bench(void)
{
    size_t       len;
    const char  *text;

    text = read_file("fhir/phq-9-response.json", &len);

    bench_run("strict JSON check of the PHQ-9 response", text, len, 20000, 0);
    bench_run("PHQ-9 response, parsed, checked, mapped", text, len, 20000,
              1);
}



/* ------------------------------------------------------------------ */
/* Bundles (epro_fhir_bundle.c)                                        */


#define QR_ID(uuid, items)                                                  \
    "{\"resourceType\":\"QuestionnaireResponse\","                          \
    "\"identifier\":{\"system\":\"urn:t\",\"value\":\"" uuid "\"},"          \
    "\"questionnaire\":\"http://t/q|1\",\"status\":\"completed\","          \
    "\"subject\":{\"reference\":\"Patient/p1\"},"                           \
    "\"authored\":\"2026-11-27T08:15:00Z\",\"item\":[" items "]}"

#define ENTRY_R(res, request)                                               \
    "{\"resource\":" res ",\"request\":" request "}"
#define POST_QR     "{\"method\":\"POST\",\"url\":\"QuestionnaireResponse\"}"
#define ENTRY(res)  ENTRY_R(res, POST_QR)

#define BUNDLE(type, entries)                                               \
    "{\"resourceType\":\"Bundle\",\"type\":\"" type "\",\"entry\":["         \
    entries "]}"

#define U1  "6f0e4a52-0b3c-4d2e-9f10-1a2b3c4d5e01"
#define U2  "6f0e4a52-0b3c-4d2e-9f10-1a2b3c4d5e02"

#define TOT_BAD     MIN_OK "," A("tot", "\"valueDecimal\":1")


static int
parse_bundle(epro_fhir_request_t *req, epro_fhir_bundle_t *bundle,
    size_t max, const char *body)
{
    size_t  len;

    memset(req, 0x5a, sizeof(epro_fhir_request_t));
    memset(bundle, 0x5a, sizeof(epro_fhir_bundle_t));
    req->set = &test_set;
    req->bundle = bundle;
    bundle->max_entries = max;
    len = strlen(body);

    return epro_fhir_parse(req, exact_copy(body, len), len, &req_alloc);
}


static void
test_bundle(void)
{
    int                      rc;
    char                    *copy;
    size_t                   len;
    epro_buf_t               out;
    epro_fhir_bundle_t       bundle;
    epro_fhir_request_t      req, top;
    epro_fhir_reply_entry_t  re[3];

    static const char  r1[] = QR_ID(U1, MIN_OK);
    static const char  r2[] = QR_ID("urn:uuid:" U2, MIN_OK);
    static const char  two[] = BUNDLE("transaction",
        "{\"fullUrl\":\"urn:uuid:" U1 "\",\"resource\":" QR_ID(U1, MIN_OK)
        ",\"request\":{\"method\":\"POST\",\"url\":\"QuestionnaireResponse\","
        "\"ifNoneExist\":\"identifier=urn%3At%7C" U1 "\"}},"
        "{\"resource\": " QR_ID("urn:uuid:" U2, MIN_OK) " ,\"request\":"
        POST_QR "}");

    /* a transaction of two: each entry mapped, its payload as sent */

    rc = parse_bundle(&req, &bundle, 10, two);
    CHECK_INT("transaction", rc, EPRO_OK);
    CHECK(bundle.found && !bundle.batch && bundle.nentries == 2);
    CHECK_INT("top issues", req.nfound, 0);

    if (rc == EPRO_OK && bundle.nentries == 2) {
        CHECK_INT("entry 0", bundle.entries[0].req.status, EPRO_OK);
        CHECK_INT("entry 1", bundle.entries[1].req.status, EPRO_OK);
        CHECK_S("payload 0", bundle.entries[0].req.sub.payload, r1);
        CHECK_S("payload 1", bundle.entries[1].req.sub.payload, r2);
        CHECK_STR("id 0", bundle.entries[0].req.sub.id, U1);
        CHECK_STR("id 1", bundle.entries[1].req.sub.id, U2);
        CHECK_S("fullUrl", bundle.entries[0].full_url, "urn:uuid:" U1);
        CHECK_S("no fullUrl", bundle.entries[1].full_url, NULL);
        CHECK_STR("base", bundle.entries[1].req.base,
                  "Bundle.entry[1].resource");
        CHECK_S("answers", bundle.entries[1].req.answers,
                "{\"b\":true,\"g.g1\":[1]}");
    }

    /* a batch: each entry its own issues, with the entry's paths */

    rc = parse_bundle(&req, &bundle, 10, BUNDLE("batch",
        ENTRY(QR_ID(U1, TOT_BAD)) ","
        ENTRY_R(QR_ID(U2, MIN_OK), "{\"method\":\"GET\",\"url\":"
                "\"QuestionnaireResponse\"}") ","
        ENTRY(QR_ID(U2, MIN_OK))));
    CHECK_INT("batch", rc, EPRO_OK);
    CHECK(bundle.found && bundle.batch && bundle.nentries == 3);

    if (rc == EPRO_OK && bundle.nentries == 3) {
        CHECK_INT("422", bundle.entries[0].req.status, EPRO_STATUS_INVALID);
        CHECK(has_issue(&bundle.entries[0].req,
                        "Bundle.entry[0].resource.item[2].answer[0]."
                        "valueDecimal", "business-rule", "total"));
        CHECK_INT("400", bundle.entries[1].req.status, EPRO_STATUS_BAD_JSON);
        CHECK(has_issue(&bundle.entries[1].req,
                        "Bundle.entry[1].request.method", "not-supported",
                        "POST"));
        CHECK_INT("ok", bundle.entries[2].req.status, EPRO_OK);

        /* a transaction of them is refused with every entry's issues */

        memset(&top, 0, sizeof(top));
        CHECK_INT("merge", epro_fhir_bundle_merge(&top, &bundle,
                                                  &req_alloc), EPRO_OK);
        CHECK_INT("merged", top.nissues, 2);
        CHECK_INT("merged status", top.status, EPRO_STATUS_BAD_JSON);
    }

    /* the Bundle itself: its type, its elements, the entries' count */

    rc = parse_bundle(&req, &bundle, 10, BUNDLE("collection",
                                                ENTRY(QR_ID(U1, MIN_OK))));
    CHECK_INT("collection", rc, EPRO_ERROR);
    CHECK_INT("collection 400", req.status, EPRO_STATUS_BAD_JSON);
    CHECK(has_issue(&req, "Bundle.type", "not-supported", "transaction"));

    rc = parse_bundle(&req, &bundle, 10, "{\"resourceType\":\"Bundle\","
                      "\"type\":\"batch\",\"link\":[],\"entry\":{}}");
    CHECK_INT("elements", rc, EPRO_ERROR);
    CHECK(has_issue(&req, "Bundle.link", "structure", "unknown"));
    CHECK(has_issue(&req, "Bundle.entry", "structure", "array"));

    rc = parse_bundle(&req, &bundle, 1, BUNDLE("batch",
        ENTRY(QR_ID(U1, MIN_OK)) "," ENTRY(QR_ID(U2, MIN_OK))));
    CHECK_INT("too many", rc, EPRO_ERROR);
    CHECK_INT("413", req.status, EPRO_STATUS_TOO_MANY);
    CHECK(has_issue(&req, "Bundle.entry", "too-costly", "1 entries"));

    rc = parse_bundle(&req, &bundle, 1,
                      "{\"resourceType\":\"Bundle\",\"type\":\"batch\"}");
    CHECK_INT("no entry", rc, EPRO_OK);
    CHECK(bundle.nentries == 0);

    /* an entry's request, fullUrl and resource */

    rc = parse_bundle(&req, &bundle, 10, BUNDLE("transaction",
        ENTRY_R(QR_ID(U1, MIN_OK), "{\"method\":\"POST\",\"url\":\"x\","
                "\"ifNoneExist\":\"identifier=urn:t|" U2 "\",\"ifMatch\":"
                "\"1\"}") ","
        "{\"fullUrl\":\"x:y\",\"resource\":{\"resourceType\":\"Patient\"},"
        "\"request\":" POST_QR "},"
        "{\"request\":" POST_QR ",\"search\":{}},"
        "7"));
    CHECK_INT("entries", rc, EPRO_OK);

    if (rc == EPRO_OK && bundle.nentries == 4) {
        CHECK(has_issue(&bundle.entries[0].req,
                        "Bundle.entry[0].request.url", "not-supported", ""));
        CHECK(has_issue(&bundle.entries[0].req,
                        "Bundle.entry[0].request.ifNoneExist",
                        "not-supported", ""));
        CHECK(has_issue(&bundle.entries[0].req,
                        "Bundle.entry[0].request.ifMatch", "structure",
                        "unknown"));
        CHECK(has_issue(&bundle.entries[1].req,
                        "Bundle.entry[1].resource.resourceType",
                        "not-supported", "QuestionnaireResponse"));
        CHECK(has_issue(&bundle.entries[1].req, "Bundle.entry[1].fullUrl",
                        "value", "urn:uuid"));
        CHECK(has_issue(&bundle.entries[2].req, "Bundle.entry[2].resource",
                        "required", ""));
        CHECK(has_issue(&bundle.entries[2].req, "Bundle.entry[2].search",
                        "structure", "unknown"));
        CHECK(has_issue(&bundle.entries[3].req, "Bundle.entry[3]",
                        "structure", "object"));
        CHECK_INT("400", bundle.entries[3].req.status,
                  EPRO_STATUS_BAD_JSON);
    }

    /* without req->bundle a Bundle is no QuestionnaireResponse */

    memset(&req, 0, sizeof(epro_fhir_request_t));
    req.set = &test_set;
    len = strlen(two);
    copy = exact_copy(two, len);
    rc = epro_fhir_parse(&req, copy, len, &req_alloc);
    CHECK_INT("no bundle taken", rc, EPRO_ERROR);
    CHECK(has_issue(&req, "", "structure", "QuestionnaireResponse"));

    /* the answer */

    memset(re, 0, sizeof(re));
    re[0].status = 201;
    re[0].id = U1;
    re[0].modified = "2026-12-01T10:00:00.000Z";
    re[1].status = 200;
    re[1].id = U1;
    re[2].status = 422;
    re[2].outcome.data = "{\"resourceType\":\"OperationOutcome\"}\n";
    re[2].outcome.len = strlen(re[2].outcome.data);

    memset(&out, 0, sizeof(out));
    CHECK_INT("response", epro_fhir_bundle_response(&out, 1, re, 3,
                                                    &req_alloc), EPRO_OK);
    check_mem(AT, "response", out.data, out.len,
        "{\"resourceType\":\"Bundle\",\"type\":\"batch-response\",\"entry\":["
        "{\"response\":{\"status\":\"201 Created\",\"location\":"
        "\"QuestionnaireResponse/" U1 "/_history/1\",\"etag\":\"W/\\\"1\\\"\","
        "\"lastModified\":\"2026-12-01T10:00:00.000Z\"}},"
        "{\"response\":{\"status\":\"200 OK\",\"location\":"
        "\"QuestionnaireResponse/" U1 "/_history/1\",\"etag\":"
        "\"W/\\\"1\\\"\"}},"
        "{\"response\":{\"status\":\"422 Unprocessable Content\","
        "\"outcome\":{\"resourceType\":\"OperationOutcome\"}}}]}\n",
        strlen("{\"resourceType\":\"Bundle\",\"type\":\"batch-response\","
               "\"entry\":["
               "{\"response\":{\"status\":\"201 Created\",\"location\":"
               "\"QuestionnaireResponse/" U1 "/_history/1\",\"etag\":"
               "\"W/\\\"1\\\"\","
               "\"lastModified\":\"2026-12-01T10:00:00.000Z\"}},"
               "{\"response\":{\"status\":\"200 OK\",\"location\":"
               "\"QuestionnaireResponse/" U1 "/_history/1\",\"etag\":"
               "\"W/\\\"1\\\"\"}},"
               "{\"response\":{\"status\":\"422 Unprocessable Content\","
               "\"outcome\":{\"resourceType\":\"OperationOutcome\"}}}]}\n"));

    memset(&out, 0, sizeof(out));
    CHECK_INT("empty response", epro_fhir_bundle_response(&out, 0, re, 0,
                                                          &req_alloc),
              EPRO_OK);
    check_mem(AT, "empty response", out.data, out.len,
              "{\"resourceType\":\"Bundle\",\"type\":"
              "\"transaction-response\",\"entry\":[]}\n", 67);

    /* out of memory anywhere: EPRO_NOMEM, never a crash */

    len = sizeof(two) - 1;
    copy = exact_copy(two, len);

    for (rc = EPRO_NOMEM, len = 0; rc == EPRO_NOMEM; len++) {
        memset(&req, 0x5a, sizeof(epro_fhir_request_t));
        memset(&bundle, 0, sizeof(epro_fhir_bundle_t));
        req.set = &test_set;
        req.bundle = &bundle;
        bundle.max_entries = 10;
        req_arena.fail_after = (long) req_arena.nallocs + (long) len;

        rc = epro_fhir_parse(&req, copy, sizeof(two) - 1, &req_alloc);
        req_arena.fail_after = -1;

        check_loop(AT, rc == EPRO_NOMEM || rc == EPRO_OK,
                   "bundle with %lu allocations: %d", (unsigned long) len,
                   rc);
    }

    CHECK(len > 5 && bundle.nentries == 2);
}


int
main(int argc, char **argv)
{
    harness_init("test_fhir", &req_arena, 160);

    test_sha1();
    test_uuid_v5();
    test_datatypes();
    test_deep();
    test_load_shipped();
    test_load_errors();
    test_load_more();
    test_response_valid();
    test_valueset();
    test_response_mapping();
    test_response_invalid();
    test_response_datatypes();
    test_primitive_extensions();
    test_number_text();
    test_enable_when();
    test_enable_when_cost();
    test_every_issue();
    test_response_nomem();
    test_shipped_responses();
    test_bundle();

    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench();
    }

    arena_release(&req_arena);
    arena_release(&conf_arena);

    return harness_report();
}
