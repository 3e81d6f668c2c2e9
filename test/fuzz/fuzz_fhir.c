
/*
 * libFuzzer target for the FHIR intake of the core (src/core/epro_fhir*.c):
 * the input is a QuestionnaireResponse body, checked against the shipped
 * PHQ-9 and GAD-7 Questionnaires (conf/fhir/) and a small one of every
 * item type and rule.
 *
 * Each input is parsed with epro_fhir_parse() into an arena like nginx's
 * request pool (free is a no-op, new memory is garbage, every allocation
 * a malloc block of its own so that ASan sees overruns, all released
 * after the input), twice: the two results must agree.  Then:
 *
 *   - the arena never refuses, so EPRO_NOMEM is a bug;
 *   - EPRO_OK has status EPRO_OK and no issue; EPRO_ERROR has status 400
 *     (and a structure issue) or 422 (and none), 1 to EPRO_MAX_ERRORS
 *     issues, truncated exactly when more were found;
 *   - every issue has a code and an expression "" or QuestionnaireResponse...;
 *   - on EPRO_OK the mapping holds: a lowercase UUID or "", an RFC 3339
 *     collected, a subject, the Questionnaire, the score exactly when it
 *     has a total, and the flattened answers are strict JSON (an object);
 *   - the OperationOutcome is strict JSON per epro_json_check();
 *   - on EPRO_OK the stored resource the module answers with
 *     (epro_fhir_resource_json, src/core/epro_fhir_out.c) is strict JSON,
 *     with and without its lastUpdated (a retry's answer cuts it out), and
 *     starts with resourceType, the server's id and a meta that carries
 *     versionId "1", that lastUpdated and the client's other meta members;
 *     every other member of the input is there, in the same order, with
 *     the same value (numbers compared as written), and nothing more;
 *   - more checks never remove an error: the same body parsed with no
 *     Questionnaire known finds no issue the Questionnaires hide.  Without
 *     one only the resource's own elements are checked (the R4 structure,
 *     status, the mapping) and the items are not walked; with one those
 *     same checks run first and in the same order, the items' come after.
 *     So with the Questionnaires loaded there are at least as many
 *     structure (400) issues, a 400 stays a 400, at least as many issues
 *     less the one "no Questionnaire is known" that finding it removes,
 *     and, unless that list was truncated, every issue listed without one
 *     (but that not-found) is listed with one, in the same order.
 *
 * A Bundle (the same target: the resourceType decides, with req.bundle
 * set) is checked by fuzz_bundle(): EPRO_OK, or EPRO_ERROR with status
 * 400 or 413 and issues on "Bundle..."; each entry's issues on
 * "Bundle.entry[k]...", its status 400 exactly when one is about
 * structure; an entry taken has a payload inside the body that, posted
 * alone, is taken too with the same id and answers; an entry refused
 * for its resource alone is refused alone with the same issues but for
 * the prefix; the merge of a transaction and the response Bundle are
 * strict JSON.  The same body again gives the same result.
 *
 * The same input is also loaded as a Questionnaire (or a Bundle) into a
 * set of its own: EPRO_OK, or EPRO_ERROR with a message and the set left
 * empty; a loaded one is found by its canonical and by each linkId.
 *
 * Any broken invariant aborts, which libFuzzer reports as a crash.
 *
 * Build (clang-14, from the repository; FUZZ_FHIR_CONF is where the
 * Questionnaires are read at start-up) and run for 60 s:
 *
 *   clang-14 -std=c99 -g -O1 -Wall -Wextra -Werror \
 *       -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
 *       -Isrc/core -DFUZZ_FHIR_CONF="\"$PWD/conf/fhir\"" \
 *       src/core/epro_*.c test/fuzz/fuzz_fhir.c -lcjson -lm \
 *       -o build/fuzz/fuzz_fhir
 *   mkdir -p build/fuzz/corpus-fhir
 *   cp -r test/fuzz/corpus-fhir/. build/fuzz/corpus-fhir/
 *   build/fuzz/fuzz_fhir -max_total_time=60 -max_len=65536 \
 *       -dict=test/fuzz/fhir.dict build/fuzz/corpus-fhir
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epro_core.h"
#include "epro_fhir.h"
#include "epro_tree.h"
#include "fuzz_arena.h"


#ifndef FUZZ_FHIR_CONF
#define FUZZ_FHIR_CONF  "conf/fhir"
#endif


static void fuzz_load(const char *text, size_t len, const char *what);
static void fuzz_load_file(const char *name);
static void fuzz_check(const epro_fhir_request_t *req, int rc,
    const uint8_t *data, size_t size, epro_alloc_t *a);
static void fuzz_same(const epro_fhir_request_t *r1,
    const epro_fhir_request_t *r2);
static void fuzz_more(const epro_fhir_request_t *full,
    const epro_fhir_request_t *none);
static void fuzz_check_json(const char *p, size_t len, epro_alloc_t *a);
static void fuzz_check_resource(const epro_fhir_request_t *req,
    epro_alloc_t *a);
static epro_node_t *fuzz_tree(const char *p, size_t len, epro_alloc_t *a);
static void fuzz_bundle(const epro_fhir_request_t *req,
    const epro_fhir_bundle_t *bundle, int rc, const uint8_t *data,
    size_t size, epro_alloc_t *a);
static int fuzz_equal(const epro_node_t *x, const epro_node_t *y);


/* the server's values: an id for a response without an identifier */
#define FUZZ_ID       "01937a4e-0000-7000-8000-000000000001"
#define FUZZ_UPDATED  "2026-12-03T22:00:00.123Z"
#define FUZZ_MAX_ENTRIES  50


static fuzz_arena_t     fuzz_arena;
static fuzz_arena_t     fuzz_conf_arena;    /* never released */
static epro_fhir_set_t  fuzz_set;
static epro_fhir_set_t  fuzz_none;     /* no Questionnaire: stays zeroed */


/*
 * every item type and rule; a repeating group with an enableWhen inside;
 * a nested question; enableWhen on each kind of value, and a cycle
 */

static const char  fuzz_q[] =
    "{\"resourceType\":\"Questionnaire\",\"url\":\"http://t/q\","
    "\"version\":\"1\",\"item\":["
    "{\"linkId\":\"b\",\"type\":\"boolean\",\"required\":true,"
    "\"text\":\"B?\"},"
    "{\"linkId\":\"g\",\"type\":\"group\",\"repeats\":true,\"item\":["
    "{\"linkId\":\"g1\",\"type\":\"integer\",\"required\":true},"
    "{\"linkId\":\"g2\",\"type\":\"string\",\"enableWhen\":[{\"question\":"
    "\"g1\",\"operator\":\">\",\"answerInteger\":5}]}]},"
    "{\"linkId\":\"d\",\"type\":\"decimal\",\"extension\":["
    "{\"url\":\"http://hl7.org/fhir/StructureDefinition/minValue\","
    "\"valueDecimal\":0.5},"
    "{\"url\":\"http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces\","
    "\"valueInteger\":1}]},"
    "{\"linkId\":\"dt\",\"type\":\"date\",\"extension\":["
    "{\"url\":\"http://hl7.org/fhir/StructureDefinition/maxValue\","
    "\"valueDate\":\"2030-01-01\"}]},"
    "{\"linkId\":\"ts\",\"type\":\"dateTime\"},"
    "{\"linkId\":\"tm\",\"type\":\"time\"},"
    "{\"linkId\":\"s\",\"type\":\"string\",\"maxLength\":5},"
    "{\"linkId\":\"u\",\"type\":\"url\"},"
    "{\"linkId\":\"c\",\"type\":\"choice\",\"repeats\":true,"
    "\"answerOption\":[{\"valueCoding\":{\"system\":\"s\",\"code\":\"a\"},"
    "\"extension\":[{\"url\":\"http://hl7.org/fhir/StructureDefinition/"
    "ordinalValue\",\"valueDecimal\":1.5}]},{\"valueInteger\":2}]},"
    "{\"linkId\":\"oc\",\"type\":\"open-choice\",\"answerOption\":["
    "{\"valueString\":\"x\"}]},"
    "{\"linkId\":\"qty\",\"type\":\"quantity\"},"
    "{\"linkId\":\"e\",\"type\":\"string\",\"enableBehavior\":\"any\","
    "\"enableWhen\":[{\"question\":\"b\",\"operator\":\"=\","
    "\"answerBoolean\":true},{\"question\":\"late\",\"operator\":\"exists\","
    "\"answerBoolean\":true}]},"
    "{\"linkId\":\"nq\",\"type\":\"choice\",\"answerOption\":["
    "{\"valueString\":\"yes\"}],\"item\":[{\"linkId\":\"why\","
    "\"type\":\"text\",\"required\":true}]},"
    "{\"linkId\":\"late\",\"type\":\"integer\"},"
    "{\"linkId\":\"w\",\"type\":\"string\",\"enableBehavior\":\"any\","
    "\"enableWhen\":[{\"question\":\"ts\",\"operator\":\">\","
    "\"answerDateTime\":\"2026-01-01T00:00:00+01:00\"},{\"question\":\"tm\","
    "\"operator\":\"=\",\"answerTime\":\"10:00:00\"},{\"question\":\"c\","
    "\"operator\":\"=\",\"answerCoding\":{\"code\":\"a\"}},{\"question\":"
    "\"qty\",\"operator\":\"<\",\"answerQuantity\":{\"value\":5}},"
    "{\"question\":\"cy\",\"operator\":\"exists\",\"answerBoolean\":false}]},"
    "{\"linkId\":\"cy\",\"type\":\"string\",\"enableWhen\":[{\"question\":"
    "\"w\",\"operator\":\"exists\",\"answerBoolean\":false}]},"
    "{\"linkId\":\"tot\",\"type\":\"decimal\",\"extension\":[{\"url\":"
    "\"http://hl7.org/fhir/uv/sdc/StructureDefinition/"
    "sdc-questionnaire-calculatedExpression\",\"valueExpression\":"
    "{\"expression\":\"%resource.item.answer.value.weight().sum()\"}}]}"
    "]}";


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;

    fuzz_load(fuzz_q, sizeof(fuzz_q) - 1, "the test Questionnaire");
    fuzz_load_file(FUZZ_FHIR_CONF "/phq-9.json");
    fuzz_load_file(FUZZ_FHIR_CONF "/gad-7.json");

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc, rc2;
    char                 err[256];
    size_t               i, k;
    epro_buf_t           b;
    epro_fhir_set_t      set;
    const epro_fhir_q_t *q;
    epro_alloc_t         a;
    epro_fhir_bundle_t   bundle, bundle2;
    epro_fhir_request_t  req, req2;

    a.alloc = fuzz_arena_alloc;
    a.free = fuzz_arena_free;
    a.ctx = &fuzz_arena;

    memset(&req, FUZZ_FILL, sizeof(epro_fhir_request_t));
    memset(&bundle, FUZZ_FILL, sizeof(epro_fhir_bundle_t));
    req.set = &fuzz_set;
    req.bundle = &bundle;
    bundle.max_entries = FUZZ_MAX_ENTRIES;
    bundle.found = 0;

    rc = epro_fhir_parse(&req, (const char *) data, size, &a);

    if (bundle.found) {
        fuzz_bundle(&req, &bundle, rc, data, size, &a);

        memset(&req2, FUZZ_FILL, sizeof(epro_fhir_request_t));
        memset(&bundle2, FUZZ_FILL, sizeof(epro_fhir_bundle_t));
        req2.set = &fuzz_set;
        req2.bundle = &bundle2;
        bundle2.max_entries = FUZZ_MAX_ENTRIES;
        bundle2.found = 0;

        rc2 = epro_fhir_parse(&req2, (const char *) data, size, &a);
        fuzz_assert(rc2 == rc && bundle2.found);
        fuzz_same(&req, &req2);
        fuzz_assert(rc != EPRO_OK || bundle2.nentries == bundle.nentries);

        for (i = 0; rc == EPRO_OK && i < bundle.nentries; i++) {
            fuzz_same(&bundle.entries[i].req, &bundle2.entries[i].req);
        }

        goto load;
    }

    fuzz_check(&req, rc, data, size, &a);

    if (rc == EPRO_OK) {
        fuzz_check_resource(&req, &a);
    }

    /* the same body again: the same result */

    memset(&req2, FUZZ_FILL, sizeof(epro_fhir_request_t));
    req2.set = &fuzz_set;

    rc2 = epro_fhir_parse(&req2, (const char *) data, size, &a);
    fuzz_assert(rc2 == rc);
    fuzz_same(&req, &req2);

    /* and with no Questionnaire known: never more issues */

    memset(&req2, FUZZ_FILL, sizeof(epro_fhir_request_t));
    req2.set = &fuzz_none;

    rc2 = epro_fhir_parse(&req2, (const char *) data, size, &a);
    fuzz_check(&req2, rc2, data, size, &a);
    fuzz_more(&req, &req2);

    memset(&b, 0, sizeof(epro_buf_t));
    fuzz_assert(epro_fhir_outcome_json(&b, &req, &a) == EPRO_OK);
    fuzz_assert(b.data != NULL && strlen(b.data) == b.len);
    fuzz_check_json(b.data, b.len, &a);

load:

    /* the input as a Questionnaire */

    memset(&set, 0, sizeof(epro_fhir_set_t));
    err[0] = '\0';

    rc = epro_fhir_load(&set, (const char *) data, size, err, sizeof(err),
                        &a);
    fuzz_assert(rc == EPRO_OK || rc == EPRO_ERROR);

    if (rc == EPRO_ERROR) {
        fuzz_assert(err[0] != '\0' && set.n == 0);
    }

    for (i = 0; rc == EPRO_OK && i < set.n; i++) {
        q = set.list[i];
        fuzz_assert(q->nitems >= 1 && q->first == 0);
        fuzz_assert(epro_fhir_find(&set, q->canonical.data,
                                   q->canonical.len) == q);

        for (k = 0; k < q->nitems; k++) {
            fuzz_assert(epro_fhir_item(q, q->items[k].link_id.data,
                                       q->items[k].link_id.len)
                        == &q->items[k]);
            fuzz_assert(q->items[k].parent < (int32_t) k);
        }
    }

    fuzz_arena_release(&fuzz_arena);

    return 0;
}


static void
fuzz_check(const epro_fhir_request_t *req, int rc, const uint8_t *data,
    size_t size, epro_alloc_t *a)
{
    size_t                   i;
    char                     id[EPRO_UUID_LEN + 1];
    const epro_fhir_issue_t *is;

    fuzz_assert(rc == EPRO_OK || rc == EPRO_ERROR);
    fuzz_assert(req->nissues <= EPRO_MAX_ERRORS);
    fuzz_assert(req->nfound >= req->nissues);
    fuzz_assert(req->truncated == (req->nfound > req->nissues));
    fuzz_assert(req->nstructure <= req->nfound);

    if (rc == EPRO_OK) {
        fuzz_assert(req->status == EPRO_OK);
        fuzz_assert(req->nfound == 0);

    } else {
        fuzz_assert(req->status == EPRO_STATUS_BAD_JSON
                    || req->status == EPRO_STATUS_INVALID);
        fuzz_assert(req->nissues >= 1);
        fuzz_assert((req->status == EPRO_STATUS_BAD_JSON)
                    == (req->nstructure > 0));
        fuzz_assert(req->answers.data == NULL);
    }

    for (i = 0; i < req->nissues; i++) {
        is = &req->issues[i];

        fuzz_assert(is->code != NULL && is->code[0] != '\0');
        fuzz_assert(is->message != NULL && is->message[0] != '\0');
        fuzz_assert(is->expression != NULL);
        fuzz_assert(is->expression[0] == '\0'
                    || strncmp(is->expression, "QuestionnaireResponse",
                               21) == 0);
    }

    if (rc != EPRO_OK) {
        return;
    }

    fuzz_assert(req->questionnaire != NULL);
    fuzz_assert(req->has_score == (req->questionnaire->total >= 0));
    fuzz_assert(req->sub.id[0] == '\0'
                || (strlen(req->sub.id) == EPRO_UUID_LEN
                    && epro_uuid_parse(id, req->sub.id, EPRO_UUID_LEN) == 0
                    && strcmp(id, req->sub.id) == 0));
    fuzz_assert(epro_rfc3339_valid(req->sub.collected,
                                   strlen(req->sub.collected)) == 0);
    fuzz_assert(req->sub.subject.data != NULL
                && req->sub.subject.len >= 1
                && epro_utf8_chars(req->sub.subject.data,
                                   req->sub.subject.len)
                   <= EPRO_MAX_FIELD_CHARS);
    fuzz_assert(req->sub.instrument.data != NULL);
    fuzz_assert(req->fhir_status.data != NULL);
    fuzz_assert(req->sub.payload.data >= (const char *) data
                && req->sub.payload.data + req->sub.payload.len
                   <= (const char *) data + size);
    fuzz_assert(req->sub.site.data == NULL);

    fuzz_assert(req->answers.data != NULL && req->answers.len >= 2);
    fuzz_assert(req->answers.data[0] == '{');
    fuzz_assert(strlen(req->answers.data) == req->answers.len);
    fuzz_check_json(req->answers.data, req->answers.len, a);
}


static void
fuzz_bundle(const epro_fhir_request_t *req, const epro_fhir_bundle_t *bundle,
    int rc, const uint8_t *data, size_t size, epro_alloc_t *a)
{
    int                       rc2;
    char                      base[48];
    size_t                    i, k, n;
    epro_buf_t                b;
    epro_str_t               *spans;
    epro_fhir_request_t       top, alone;
    epro_fhir_reply_entry_t  *re;
    const epro_fhir_request_t *en;

    fuzz_assert(rc == EPRO_OK || rc == EPRO_ERROR);
    fuzz_assert(req->nissues <= EPRO_MAX_ERRORS);
    fuzz_assert(req->truncated == (req->nfound > req->nissues));

    for (i = 0; i < req->nissues; i++) {
        fuzz_assert(strncmp(req->issues[i].expression, "Bundle", 6) == 0);
    }

    if (rc != EPRO_OK) {
        fuzz_assert(req->nissues >= 1);
        fuzz_assert(req->status == EPRO_STATUS_BAD_JSON
                    || req->status == EPRO_STATUS_TOO_MANY);
        return;
    }

    fuzz_assert(req->nfound == 0 && bundle->nentries <= FUZZ_MAX_ENTRIES);

    re = a->alloc(a->ctx, (bundle->nentries + 1) * sizeof(*re));
    fuzz_assert(re != NULL);

    /* the resources' texts by a walk of the body, against the tree's */

    spans = a->alloc(a->ctx, (bundle->nentries + 1) * sizeof(epro_str_t));
    fuzz_assert(spans != NULL);
    fuzz_assert(epro_fhir_json_resources((const char *) data, size, spans,
                                         bundle->nentries)
                == bundle->nentries);

    for (k = 0; k < bundle->nentries; k++) {
        en = &bundle->entries[k].req;
        n = (size_t) snprintf(base, sizeof(base), "Bundle.entry[%lu]",
                              (unsigned long) k);

        fuzz_assert(en->nissues <= EPRO_MAX_ERRORS);
        fuzz_assert(en->truncated == (en->nfound > en->nissues));
        fuzz_assert((en->status == EPRO_OK) == (en->nfound == 0));
        fuzz_assert(en->status == EPRO_OK
                    || en->status == EPRO_STATUS_BAD_JSON
                    || en->status == EPRO_STATUS_INVALID);
        fuzz_assert(en->nfound == 0
                    || (en->status == EPRO_STATUS_BAD_JSON)
                       == (en->nstructure > 0));

        for (i = 0; i < en->nissues; i++) {
            fuzz_assert(strncmp(en->issues[i].expression, base, n) == 0);
        }

        memset(&re[k], 0, sizeof(*re));
        re[k].status = en->status ? en->status : 201;
        re[k].id = en->status ? NULL : FUZZ_ID;
        re[k].modified = en->status ? NULL : FUZZ_UPDATED;

        if (en->status != EPRO_OK) {
            memset(&b, 0, sizeof(epro_buf_t));
            fuzz_assert(epro_fhir_outcome_json(&b, en, a) == EPRO_OK);
            fuzz_check_json(b.data, b.len, a);
            re[k].outcome.data = b.data;
            re[k].outcome.len = b.len;
        }

        if (en->sub.payload.data == NULL) {
            fuzz_assert(en->status != EPRO_OK);
            continue;
        }

        fuzz_assert(en->sub.payload.data == spans[k].data
                    && en->sub.payload.len == spans[k].len);

        /* the entry's resource alone: the same check, another prefix */

        fuzz_assert(en->sub.payload.data >= (const char *) data
                    && en->sub.payload.data + en->sub.payload.len
                       <= (const char *) data + size);

        memset(&alone, FUZZ_FILL, sizeof(epro_fhir_request_t));
        alone.set = &fuzz_set;
        alone.bundle = NULL;

        rc2 = epro_fhir_parse(&alone, en->sub.payload.data,
                              en->sub.payload.len, a);

        if (en->status == EPRO_OK) {
            fuzz_assert(rc2 == EPRO_OK);
            fuzz_assert(strcmp(alone.sub.id, en->sub.id) == 0);
            fuzz_assert(alone.answers.len == en->answers.len
                        && memcmp(alone.answers.data, en->answers.data,
                                  en->answers.len) == 0);
            continue;
        }

        if (rc2 == EPRO_OK || en->nissues != alone.nissues) {
            /* the entry's own request or fullUrl was refused too */
            fuzz_assert(en->nfound > alone.nfound);
            continue;
        }

        for (i = 0; i < alone.nissues; i++) {
            fuzz_assert(strncmp(alone.issues[i].expression,
                                "QuestionnaireResponse", 21) == 0);
        }
    }

    /* a transaction refused: every entry's issues in one outcome */

    memset(&top, 0, sizeof(epro_fhir_request_t));
    fuzz_assert(epro_fhir_bundle_merge(&top, bundle, a) == EPRO_OK);
    memset(&b, 0, sizeof(epro_buf_t));
    fuzz_assert(epro_fhir_outcome_json(&b, &top, a) == EPRO_OK);
    fuzz_check_json(b.data, b.len, a);

    memset(&b, 0, sizeof(epro_buf_t));
    fuzz_assert(epro_fhir_bundle_response(&b, bundle->batch, re,
                                          bundle->nentries, a)
                == EPRO_OK);
    fuzz_check_json(b.data, b.len, a);
}


static void
fuzz_same(const epro_fhir_request_t *r1, const epro_fhir_request_t *r2)
{
    size_t  i;

    fuzz_assert(r1->status == r2->status);
    fuzz_assert(r1->nfound == r2->nfound);
    fuzz_assert(r1->nissues == r2->nissues);
    fuzz_assert(r1->nstructure == r2->nstructure);

    for (i = 0; i < r1->nissues; i++) {
        fuzz_assert(strcmp(r1->issues[i].expression,
                           r2->issues[i].expression) == 0);
        fuzz_assert(strcmp(r1->issues[i].message, r2->issues[i].message)
                    == 0);
    }

    fuzz_assert(r1->has_score == r2->has_score);
    fuzz_assert(!r1->has_score || r1->score == r2->score);
    fuzz_assert(strcmp(r1->sub.id, r2->sub.id) == 0);
    fuzz_assert(r1->answers.len == r2->answers.len);
    fuzz_assert(r1->answers.len == 0
                || memcmp(r1->answers.data, r2->answers.data,
                          r1->answers.len) == 0);
}


static void
fuzz_more(const epro_fhir_request_t *full, const epro_fhir_request_t *none)
{
    size_t                   i, k;
    const epro_fhir_issue_t *is, *js;

    /* nothing is found without a Questionnaire: no response passes */

    fuzz_assert(none->status != EPRO_OK && none->questionnaire == NULL);

    fuzz_assert(full->nstructure >= none->nstructure);
    fuzz_assert(none->status != EPRO_STATUS_BAD_JSON
                || full->status == EPRO_STATUS_BAD_JSON);
    fuzz_assert(full->nfound + (full->questionnaire != NULL)
                >= none->nfound);

    if (full->truncated) {
        return;
    }

    for (i = 0, k = 0; i < none->nissues; i++) {
        is = &none->issues[i];

        if (strcmp(is->code, "not-found") == 0
            && strcmp(is->expression, "QuestionnaireResponse.questionnaire")
               == 0)
        {
            continue;
        }

        for ( /* void */ ; k < full->nissues; k++) {
            js = &full->issues[k];

            if (strcmp(is->code, js->code) == 0
                && strcmp(is->expression, js->expression) == 0
                && strcmp(is->message, js->message) == 0)
            {
                break;
            }
        }

        if (k == full->nissues) {
            fprintf(stderr, "fuzz_fhir: without a Questionnaire, %s [%s] "
                    "%s; not found with one\n", is->expression, is->code,
                    is->message);
        }

        fuzz_assert(k < full->nissues);
        k++;
    }
}


static void
fuzz_check_json(const char *p, size_t len, epro_alloc_t *a)
{
    epro_request_t  chk;

    memset(&chk, 0, sizeof(epro_request_t));

    fuzz_assert(epro_json_check(p, len, &chk, a)
                == EPRO_OK);
}


static void
fuzz_check_resource(const epro_fhir_request_t *req, epro_alloc_t *a)
{
    int                at_id, at_meta;
    size_t             at, n, k, nin;
    epro_fhir_parts_t  parts;
    const char        *id, *key;
    epro_buf_t         b, b2;
    epro_node_t       *in, *out, *x, *y, *meta, *m;

    id = req->sub.id[0] ? req->sub.id : FUZZ_ID;

    memset(&b, 0, sizeof(epro_buf_t));
    at = n = (size_t) -1;

    fuzz_assert(epro_fhir_resource_json(&b, req->sub.payload.data,
                                        req->sub.payload.len, NULL, id,
                                        FUZZ_UPDATED, &parts, a)
                == EPRO_OK);
    at = parts.at;
    n = parts.n;

    /* a create finds the members by the body's tree: the same bytes */

    fuzz_assert(req->root != NULL);
    memset(&b2, 0, sizeof(epro_buf_t));
    fuzz_assert(epro_fhir_resource_json(&b2, req->sub.payload.data,
                                        req->sub.payload.len, req->root, id,
                                        FUZZ_UPDATED, &parts, a)
                == EPRO_OK);
    fuzz_assert(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0
                && parts.at == at && parts.n == n);

    /* the runs the glue sends without a copy are the body's own bytes */

    for (k = 0; k < parts.nruns; k++) {
        fuzz_assert(parts.run[k].data >= req->sub.payload.data
                    && parts.run[k].data + parts.run[k].len
                       <= req->sub.payload.data + req->sub.payload.len);
    }
    fuzz_assert(b.data != NULL && strlen(b.data) == b.len);
    fuzz_assert(b.len >= 2 && b.data[b.len - 1] == '\n');
    fuzz_check_json(b.data, b.len, a);

    /* lastUpdated at [at, at + n): a retry's 200 cuts it out */

    fuzz_assert(at < b.len && n <= b.len - at);
    fuzz_assert(n == sizeof(",\"lastUpdated\":\"" FUZZ_UPDATED "\"") - 1
                && memcmp(b.data + at, ",\"lastUpdated\":\"" FUZZ_UPDATED
                          "\"", n) == 0);

    memset(&b2, 0, sizeof(epro_buf_t));
    fuzz_assert(epro_buf_add(&b2, b.data, at, a) == EPRO_OK
                && epro_buf_add(&b2, b.data + at + n, b.len - at - n, a)
                   == EPRO_OK);
    fuzz_check_json(b2.data, b2.len, a);

    /* without a time: none, and the rest the same */

    memset(&b2, 0, sizeof(epro_buf_t));
    fuzz_assert(epro_fhir_resource_json(&b2, req->sub.payload.data,
                                        req->sub.payload.len, NULL, id, NULL,
                                        &parts, a)
                == EPRO_OK);
    fuzz_assert(parts.n == 0 && b2.len + sizeof(",\"lastUpdated\":\""
                                          FUZZ_UPDATED "\"") - 1
                          == b.len);

    in = fuzz_tree(req->sub.payload.data, req->sub.payload.len, a);
    out = fuzz_tree(b.data, b.len, a);

    fuzz_assert(epro_node_type(in) == EPRO_NODE_OBJECT
                && epro_node_type(out) == EPRO_NODE_OBJECT);

    /* resourceType, id, meta first */

    x = epro_node_child(out);
    fuzz_assert(x != NULL && strcmp(epro_node_key(x), "resourceType") == 0
                && epro_node_string(x) != NULL
                && strcmp(epro_node_string(x), "QuestionnaireResponse")
                   == 0);

    x = epro_node_next(x);
    fuzz_assert(x != NULL && strcmp(epro_node_key(x), "id") == 0
                && epro_node_string(x) != NULL
                && strcmp(epro_node_string(x), id) == 0);

    meta = epro_node_next(x);
    fuzz_assert(meta != NULL && strcmp(epro_node_key(meta), "meta") == 0
                && epro_node_type(meta) == EPRO_NODE_OBJECT);

    m = epro_node_member(meta, "versionId");
    fuzz_assert(m != NULL && epro_node_string(m) != NULL
                && strcmp(epro_node_string(m), "1") == 0);

    m = epro_node_member(meta, "lastUpdated");
    fuzz_assert(m != NULL && epro_node_string(m) != NULL
                && strcmp(epro_node_string(m), FUZZ_UPDATED) == 0);

    /* the client's meta members, the server's two replaced */

    m = epro_node_member(in, "meta");
    k = 2;

    for (x = m ? epro_node_child(m) : NULL; x; x = epro_node_next(x)) {
        key = epro_node_key(x);

        if (strcmp(key, "versionId") == 0
            || strcmp(key, "lastUpdated") == 0)
        {
            continue;
        }

        y = epro_node_member(meta, key);
        fuzz_assert(y != NULL && fuzz_equal(x, y));
        k++;
    }

    fuzz_assert(epro_node_count(meta) == k);

    /* every other member of the input, in order, and nothing more */

    y = epro_node_next(meta);
    nin = 0;
    at_id = 0;
    at_meta = 0;

    for (x = epro_node_child(in); x; x = epro_node_next(x)) {
        key = epro_node_key(x);

        if (strcmp(key, "resourceType") == 0) {
            continue;
        }

        if (strcmp(key, "id") == 0 || strcmp(key, "meta") == 0) {
            at_id += (key[0] == 'i');
            at_meta += (key[0] == 'm');
            continue;
        }

        fuzz_assert(y != NULL && strcmp(epro_node_key(y), key) == 0
                    && fuzz_equal(x, y));
        y = epro_node_next(y);
        nin++;
    }

    fuzz_assert(y == NULL && at_id <= 1 && at_meta <= 1);
    fuzz_assert(epro_node_count(out) == nin + 3);
}


/* a strict JSON text's tree, its numbers' texts as written */

static epro_node_t *
fuzz_tree(const char *p, size_t len, epro_alloc_t *a)
{
    epro_node_t     *n;
    epro_request_t   chk;

    memset(&chk, 0, sizeof(epro_request_t));
    fuzz_assert(epro_json_check(p, len, &chk, a)
                == EPRO_OK);

    n = epro_tree_parse(p, len, a);
    fuzz_assert(n != NULL);

    return n;
}


/* the same JSON value: numbers as written, members in the same order */

static int
fuzz_equal(const epro_node_t *x, const epro_node_t *y)
{
    size_t              xl, yl;
    const char         *xt, *yt, *xk, *yk;
    epro_node_type_e    t;

    t = epro_node_type(x);

    if (t != epro_node_type(y)) {
        return 0;
    }

    switch (t) {

    case EPRO_NODE_NUMBER:
        xt = epro_node_text(x, &xl);
        yt = epro_node_text(y, &yl);

        return xt != NULL && yt != NULL && xl == yl
               && memcmp(xt, yt, xl) == 0;

    case EPRO_NODE_STRING:
        return strcmp(epro_node_string(x), epro_node_string(y)) == 0;

    case EPRO_NODE_ARRAY:
    case EPRO_NODE_OBJECT:
        if (epro_node_count(x) != epro_node_count(y)) {
            return 0;
        }

        for (x = epro_node_child(x), y = epro_node_child(y);
             x && y;
             x = epro_node_next(x), y = epro_node_next(y))
        {
            xk = epro_node_key(x);
            yk = epro_node_key(y);

            if ((xk == NULL) != (yk == NULL)
                || (xk && strcmp(xk, yk) != 0)
                || !fuzz_equal(x, y))
            {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


static void
fuzz_load(const char *text, size_t len, const char *what)
{
    char          err[256];
    epro_alloc_t  a;

    a.alloc = fuzz_arena_alloc;
    a.free = fuzz_arena_free;
    a.ctx = &fuzz_conf_arena;

    if (epro_fhir_load(&fuzz_set, text, len, err, sizeof(err), &a)
        != EPRO_OK)
    {
        fprintf(stderr, "fuzz_fhir: %s: %s\n", what, err);
        abort();
    }
}


static void
fuzz_load_file(const char *name)
{
    long   n;
    char  *p;
    FILE  *f;

    f = fopen(name, "rb");

    if (f == NULL) {
        fprintf(stderr, "fuzz_fhir: cannot open %s (FUZZ_FHIR_CONF)\n",
                name);
        abort();
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(n > 0 ? (size_t) n : 1);
    fuzz_assert(p != NULL);
    fuzz_assert(fread(p, 1, (size_t) n, f) == (size_t) n);
    fclose(f);

    fuzz_load(p, (size_t) n, name);
    free(p);
}


