
/*
 * Unit tests for src/core/epro_fhir_out.c, what the FHIR glue sends back
 * and adds after the check: the stored resource rebuilt from the body's
 * bytes (id and meta the server's, everything else as sent, escaped
 * keys read), the one-issue OperationOutcome, issues added by the glue,
 * the policy's forgiveness of an unknown Questionnaire, the score's text.
 * No nginx; built and run by "make test" and "make asan".
 */


#include <stdio.h>
#include <string.h>

#include "epro_fhir.h"
#include "epro_tree.h"
#include "harness.h"


#define QR_OPEN   "{\"resourceType\":\"QuestionnaireResponse\","
#define ID        "0190a4b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b"
#define T         "2026-12-03T21:00:00.123Z"


static arena_t       arena = ARENA_INIT;
static epro_alloc_t  alloc = { arena_alloc, arena_free, &arena };


/*
 * The head and the runs without copies: the runs point into the body, and
 * head, ',' and each run, then "}\n" are the whole resource.
 */

static void
check_parts(int line, const char *in, size_t len, const epro_node_t *root,
    const char *updated, const char *whole, size_t wlen)
{
    int                 rc;
    size_t              i;
    epro_buf_t          head, joined;
    epro_fhir_parts_t   parts;

    memset(&head, 0, sizeof(head));
    memset(&joined, 0, sizeof(joined));

    rc = epro_fhir_resource_head(&head, in, len, root, ID, updated, &parts,
                                 &alloc);

    if (!check(__FILE__, line, rc == EPRO_OK, "resource_head rc %d", rc)) {
        return;
    }

    epro_buf_add(&joined, head.data, head.len, &alloc);

    for (i = 0; i < parts.nruns; i++) {
        check(__FILE__, line,
              parts.run[i].data >= in
              && parts.run[i].data + parts.run[i].len <= in + len,
              "run %zu points into the body", i);
        epro_buf_add(&joined, ",", 1, &alloc);
        epro_buf_add(&joined, parts.run[i].data, parts.run[i].len, &alloc);
    }

    epro_buf_add(&joined, "}\n", 2, &alloc);

    check_mem(__FILE__, line, "head and runs", joined.data, joined.len,
              whole, wlen);
}


static void
check_resource(int line, const char *body, const char *updated,
    const char *want, const char *cut)
{
    int                 rc;
    char               *in;
    epro_buf_t          b;
    epro_node_t        *root;
    epro_request_t      chk;
    epro_fhir_parts_t   parts;

    memset(&b, 0, sizeof(b));
    memset(&chk, 0, sizeof(chk));
    in = exact_copy(body, strlen(body));

    /* the members found by the body's tree (a create), and by walking
     * the text (a read) */

    root = NULL;

    if (epro_json_check(in, strlen(body), &chk, &alloc)
        == EPRO_OK)
    {
        root = epro_tree_parse(in, strlen(body), &alloc);
    }

    check(__FILE__, line, root != NULL, "the body parses");

    if (root != NULL) {
        check_parts(line, in, strlen(body), root, updated, want,
                    strlen(want));
    }

    rc = epro_fhir_resource_json(&b, in, strlen(body), NULL, ID, updated,
                                 &parts, &alloc);

    if (!check(__FILE__, line, rc == EPRO_OK, "resource_json rc %d", rc)) {
        return;
    }

    check_mem(__FILE__, line, "resource", b.data, b.len, want, strlen(want));
    check_mem(__FILE__, line, "lastUpdated span", b.data + parts.at, parts.n,
              cut, strlen(cut));
    check_parts(line, in, strlen(body), NULL, updated, b.data, b.len);
}


static void
test_resource(void)
{
    /* the client's id and version replaced, its other meta kept */

    check_resource(__LINE__,
        QR_OPEN "\"id\":\"mine\",\"meta\":{\"versionId\":\"7\","
        "\"profile\":[\"p\"],\"lastUpdated\":\"old\"},\"status\":"
        "\"completed\",\"item\":[{\"linkId\":\"}]\\\"\"}]}",
        T,
        QR_OPEN "\"id\":\"" ID "\",\"meta\":{\"profile\":[\"p\"],"
        "\"versionId\":\"1\",\"lastUpdated\":\"" T "\"},\"status\":"
        "\"completed\",\"item\":[{\"linkId\":\"}]\\\"\"}]}\n",
        ",\"lastUpdated\":\"" T "\"");

    /* the extensions of the client's id and version go with them */

    check_resource(__LINE__,
        QR_OPEN "\"_id\":{\"id\":\"e\"},\"id\":\"mine\",\"meta\":{"
        "\"_versionId\":{\"id\":\"v\"},\"versionId\":\"7\","
        "\"_lastUpdated\":{\"id\":\"u\"},\"_source\":{\"id\":\"s\"}},"
        "\"status\":\"completed\"}",
        T,
        QR_OPEN "\"id\":\"" ID "\",\"meta\":{\"_source\":{\"id\":\"s\"},"
        "\"versionId\":\"1\",\"lastUpdated\":\"" T "\"},\"status\":"
        "\"completed\"}\n",
        ",\"lastUpdated\":\"" T "\"");

    /* white space and numbers as sent; no meta; no time: no lastUpdated */

    check_resource(__LINE__,
        " { \"resourceType\" : \"QuestionnaireResponse\" ,\n"
        "  \"status\" : \"x\", \"n\" : [ 1.50e2 , -0 ] } \n",
        NULL,
        QR_OPEN "\"id\":\"" ID "\",\"meta\":{\"versionId\":\"1\"},"
        "\"status\" : \"x\", \"n\" : [ 1.50e2 , -0 ]}\n",
        "");

    /* a key written with escapes is still "id"; one that only looks
     * like it after a cast is not */

    check_resource(__LINE__,
        QR_OPEN "\"\\u0069d\":\"x\",\"\\u0169d\":1,\"s\\/t\":true}",
        T,
        QR_OPEN "\"id\":\"" ID "\",\"meta\":{\"versionId\":\"1\","
        "\"lastUpdated\":\"" T "\"},\"\\u0169d\":1,\"s\\/t\":true}\n",
        ",\"lastUpdated\":\"" T "\"");
}


/* runs broken by each element the server writes itself; more than
 * EPRO_FHIR_RUNS runs (only with repeated elements, which the check
 * refuses) is an error, not a truncation */

static void
test_runs(void)
{
    int                 rc;
    epro_buf_t          b;
    epro_fhir_parts_t   parts;

    static const char  three[] =
        "{\"a\":1,\"resourceType\":\"QuestionnaireResponse\",\"b\":2, "
        "\"c\":3,\"id\":\"x\",\"d\":4,\"meta\":{},\"e\":5}";

    static const char  six[] =
        "{\"a\":1,\"id\":1,\"b\":2,\"id\":2,\"c\":3,\"id\":3,\"d\":4,"
        "\"id\":4,\"e\":5,\"id\":5,\"f\":6}";

    memset(&b, 0, sizeof(b));
    rc = epro_fhir_resource_head(&b, three, sizeof(three) - 1, NULL, ID, NULL,
                                 &parts, &alloc);
    CHECK_INT("head rc", rc, EPRO_OK);
    CHECK_INT("runs", parts.nruns, 4);
    check_mem(AT, "run 1", parts.run[1].data, parts.run[1].len,
              "\"b\":2, \"c\":3", 12);
    check_parts(__LINE__, three, sizeof(three) - 1, NULL, NULL,
                QR_OPEN "\"id\":\"" ID "\",\"meta\":{\"versionId\":\"1\"},"
                "\"a\":1,\"b\":2, \"c\":3,\"d\":4,\"e\":5}\n",
                sizeof(QR_OPEN "\"id\":\"" ID "\",\"meta\":{\"versionId\":"
                       "\"1\"},\"a\":1,\"b\":2, \"c\":3,\"d\":4,\"e\":5}\n")
                - 1);

    memset(&b, 0, sizeof(b));
    rc = epro_fhir_resource_head(&b, six, sizeof(six) - 1, NULL, ID, NULL,
                                 &parts, &alloc);
    CHECK_INT("six runs", rc, EPRO_ERROR);
}


static void
test_outcome(void)
{
    int                   rc;
    char                  num[EPRO_FHIR_NUMBER_LEN];
    epro_buf_t            b;
    epro_fhir_request_t   req;

    static const char  want[] =
        "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":"
        "\"error\",\"code\":\"transient\",\"diagnostics\":\"a \\\"b\\\"\"}]}"
        "\n";

    memset(&b, 0, sizeof(b));
    rc = epro_fhir_outcome_one(&b, "error", "transient", "a \"b\"", &alloc);
    CHECK_INT("outcome_one", rc, EPRO_OK);
    check_mem(AT, "outcome_one", b.data, b.len, want, sizeof(want) - 1);

    /* the policy forgives an unknown Questionnaire, and only that */

    memset(&req, 0, sizeof(req));
    req.status = EPRO_STATUS_INVALID;

    CHECK_INT("add", epro_fhir_issue_add(&req, "not-found",
              "QuestionnaireResponse.questionnaire", "unknown", &alloc),
              EPRO_OK);
    CHECK_INT("forgiven", epro_fhir_forgive_unknown(&req), 1);
    CHECK_INT("status", req.status, EPRO_OK);
    CHECK_INT("issues", req.nissues + req.nfound, 0);

    req.status = EPRO_STATUS_INVALID;
    epro_fhir_issue_add(&req, "required", "QuestionnaireResponse.subject",
                        "a subject", &alloc);
    epro_fhir_issue_add(&req, "not-found",
                        "QuestionnaireResponse.questionnaire", "unknown",
                        &alloc);
    CHECK_INT("not forgiven", epro_fhir_forgive_unknown(&req), 0);
    CHECK_INT("status", req.status, EPRO_STATUS_INVALID);
    CHECK_INT("issues left", req.nissues, 1);
    CHECK_STR("issue left", req.issues[0].expression,
              "QuestionnaireResponse.subject");

    req.status = EPRO_STATUS_BAD_JSON;
    CHECK_INT("400 not forgiven", epro_fhir_forgive_unknown(&req), 0);

    /* scores */

    epro_fhir_number_text(num, 10);
    CHECK_STR("10", num, "10");
    epro_fhir_number_text(num, 2.5);
    CHECK_STR("2.5", num, "2.5");
    epro_fhir_number_text(num, 0.1);
    CHECK_STR("0.1", num, "0.1");
    epro_fhir_number_text(num, -3);
    CHECK_STR("-3", num, "-3");
}


static void
test_nomem(void)
{
    int                 rc;
    epro_buf_t          b;
    epro_fhir_parts_t   parts;

    static const char  body[] = QR_OPEN "\"status\":\"x\"}";

    memset(&b, 0, sizeof(b));
    arena.fail_after = 0;

    rc = epro_fhir_resource_json(&b, body, sizeof(body) - 1, NULL, ID, T,
                                 &parts, &alloc);
    CHECK_INT("resource_json without memory", rc, EPRO_NOMEM);

    rc = epro_fhir_outcome_one(&b, "error", "x", "y", &alloc);
    CHECK_INT("outcome_one without memory", rc, EPRO_NOMEM);

    arena.fail_after = -1;
}


int
main(void)
{
    harness_init("test_fhir_out", &arena, 400);

    test_resource();
    test_runs();
    test_outcome();
    test_nomem();

    arena_release(&arena);

    return harness_report();
}
