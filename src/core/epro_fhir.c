
/*
 * FHIR R4 QuestionnaireResponse intake: the R4 structure and datatypes
 * (400), then the Questionnaire's rules (422), every violation with a
 * FHIRPath expression; then the mapping to a submission, the flattened
 * answers and the score; and the OperationOutcome of the issues.
 *
 * Two walks over the items: the first counts the answers, the second
 * checks everything.  Each item is found by its linkId's hash: linear in
 * the body.  An enableWhen looks for its question's answers where the
 * reference validator does: in the instance of the innermost item that
 * holds both (the same repetition of a group), else in the whole
 * response.
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epro_fhir.h"
#include "epro_tree.h"


#define EPRO_FR_QR  "QuestionnaireResponse"

/* a number for a message: as written (the strict check's limit) or not */
#define EPRO_FR_NUM_MAX  (EPRO_MAX_NUMBER_BYTES + 1 > 40                  \
                          ? EPRO_MAX_NUMBER_BYTES + 1 : 40)

#define EPRO_EXT_STUDY                                                      \
    "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"


typedef struct {
    epro_fhir_value_t   value;
    int32_t             next;
} epro_fr_rec_t;


typedef struct {
    epro_fhir_request_t *req;
    epro_alloc_t        *a;
    const epro_fhir_q_t *q;
    const epro_node_t   *root;      /* the response's items */
    const epro_node_t   *inst[EPRO_FHIR_MAX_LEVELS];  /* the walk's path */
    const void         **at;        /* per item: where enabled[] holds */
    uint32_t            *mark;      /* per item: the stamp it was seen in */
    unsigned char       *enabled;   /* per item: 0 not known, 1 yes, 2 no;
                                       | EPRO_FR_EW_BUSY: being evaluated */
    int32_t             *head;      /* per item: its values, in order */
    int32_t             *tail;
    epro_fr_rec_t       *recs;
    size_t               nrecs;
    size_t               maxrecs;
    uint32_t             stamp;
    double               score;
    epro_fhir_value_t    total;     /* the total as sent */
    const char          *base;      /* the resource's FHIRPath prefix */
    char                *total_path;
    unsigned             completed:1;
} epro_fr_ctx_t;


enum {
    EPRO_FR_RESOURCE_TYPE = 0,
    EPRO_FR_ID,
    EPRO_FR_META,
    EPRO_FR_IMPLICIT_RULES,
    EPRO_FR_LANGUAGE,
    EPRO_FR_TEXT,
    EPRO_FR_CONTAINED,
    EPRO_FR_EXTENSION,
    EPRO_FR_MODIFIER_EXTENSION,
    EPRO_FR_IDENTIFIER,
    EPRO_FR_BASED_ON,
    EPRO_FR_PART_OF,
    EPRO_FR_QUESTIONNAIRE,
    EPRO_FR_STATUS,
    EPRO_FR_SUBJECT,
    EPRO_FR_ENCOUNTER,
    EPRO_FR_AUTHORED,
    EPRO_FR_AUTHOR,
    EPRO_FR_SOURCE,
    EPRO_FR_ITEM,
    EPRO_FR_NTOP
};


/*
 * The R4 elements of the resource and of the datatypes it holds, as
 * tables: each element a primitive (FHIR JSON allows a "_name" sibling
 * beside it), a JSON value without one (an element's id), a datatype,
 * extensions, or the caller's to check further (items, answers,
 * contained).  many: 0..*, an array of them.
 */

typedef enum {
    EPRO_FR_PRIM = 0,
    EPRO_FR_PLAIN,
    EPRO_FR_TYPE,
    EPRO_FR_EXTS,
    EPRO_FR_OWN
} epro_fr_kind_e;


typedef struct epro_fr_elem_s  epro_fr_elem_t;

struct epro_fr_elem_s {
    const char              *name;
    unsigned char            kind;      /* epro_fr_kind_e */
    unsigned char            prim;      /* epro_fhir_prim_e */
    unsigned char            many;
    unsigned char            required;
    const epro_fr_elem_t    *type;      /* EPRO_FR_TYPE: its elements */
    const char *const       *codes;     /* a required binding, or NULL */
};


#define EPRO_FR_E(name, kind, prim)                                         \
    { name, kind, prim, 0, 0, NULL, NULL }
#define EPRO_FR_P(name, prim)       EPRO_FR_E(name, EPRO_FR_PRIM, prim)
#define EPRO_FR_T(name, type, many)                                         \
    { name, EPRO_FR_TYPE, EPRO_FP_OBJECT, many, 0, type, NULL }
#define EPRO_FR_CODE(name, codes, req)                                      \
    { name, EPRO_FR_PRIM, EPRO_FP_CODE, 0, req, NULL, codes }
/* Element.id is a string (a resource's id is of type id) */
#define EPRO_FR_ELEM_ID EPRO_FR_E("id", EPRO_FR_PLAIN, EPRO_FP_STRING)
#define EPRO_FR_EXT     EPRO_FR_E("extension", EPRO_FR_EXTS, EPRO_FP_ARRAY)
#define EPRO_FR_END     EPRO_FR_E(NULL, 0, 0)

#define EPRO_FR_ONE     ((size_t) -1)   /* not in an array */


static const char *const  epro_fr_uses[] = {
    "usual", "official", "temp", "secondary", "old", NULL
};

static const char *const  epro_fr_narrative[] = {
    "generated", "extensions", "additional", "empty", NULL
};

static const char *const  epro_fr_comparators[] = {
    "<", "<=", ">=", ">", NULL
};

/* "_x": what extends a primitive x */
static const epro_fr_elem_t  epro_fr_pext_e[] = {
    EPRO_FR_E("id", EPRO_FR_PLAIN, EPRO_FP_STRING), EPRO_FR_EXT, EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_pext_t =
    EPRO_FR_T("_", epro_fr_pext_e, 0);

static const epro_fr_elem_t  epro_fr_coding_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_P("system", EPRO_FP_URI),
    EPRO_FR_P("version", EPRO_FP_STRING), EPRO_FR_P("code", EPRO_FP_CODE),
    EPRO_FR_P("display", EPRO_FP_STRING),
    EPRO_FR_P("userSelected", EPRO_FP_BOOLEAN), EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_concept_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_T("coding", epro_fr_coding_e, 1),
    EPRO_FR_P("text", EPRO_FP_STRING), EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_period_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_P("start", EPRO_FP_DATETIME),
    EPRO_FR_P("end", EPRO_FP_DATETIME), EPRO_FR_END
};

/* Reference and Identifier hold each other */
static const epro_fr_elem_t  epro_fr_reference_e[7];

static const epro_fr_elem_t  epro_fr_identifier_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_CODE("use", epro_fr_uses, 0),
    EPRO_FR_T("type", epro_fr_concept_e, 0),
    EPRO_FR_P("system", EPRO_FP_URI), EPRO_FR_P("value", EPRO_FP_STRING),
    EPRO_FR_T("period", epro_fr_period_e, 0),
    EPRO_FR_T("assigner", epro_fr_reference_e, 0), EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_reference_e[7] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_P("reference", EPRO_FP_STRING),
    EPRO_FR_P("type", EPRO_FP_URI),
    EPRO_FR_T("identifier", epro_fr_identifier_e, 0),
    EPRO_FR_P("display", EPRO_FP_STRING), EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_quantity_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_P("value", EPRO_FP_DECIMAL),
    EPRO_FR_CODE("comparator", epro_fr_comparators, 0),
    EPRO_FR_P("unit", EPRO_FP_STRING), EPRO_FR_P("system", EPRO_FP_URI),
    EPRO_FR_P("code", EPRO_FP_CODE), EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_attachment_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_P("contentType", EPRO_FP_CODE),
    EPRO_FR_P("language", EPRO_FP_CODE), EPRO_FR_P("data", EPRO_FP_BASE64),
    EPRO_FR_P("url", EPRO_FP_URI), EPRO_FR_P("size", EPRO_FP_UNSIGNED),
    EPRO_FR_P("hash", EPRO_FP_BASE64), EPRO_FR_P("title", EPRO_FP_STRING),
    EPRO_FR_P("creation", EPRO_FP_DATETIME), EPRO_FR_END
};

/* Meta and Narrative: not read, only held to R4 */
static const epro_fr_elem_t  epro_fr_meta_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_P("versionId", EPRO_FP_ID),
    EPRO_FR_P("lastUpdated", EPRO_FP_INSTANT),
    EPRO_FR_P("source", EPRO_FP_URI),
    { "profile", EPRO_FR_PRIM, EPRO_FP_URI, 1, 0, NULL, NULL },
    EPRO_FR_T("security", epro_fr_coding_e, 1),
    EPRO_FR_T("tag", epro_fr_coding_e, 1), EPRO_FR_END
};

static const epro_fr_elem_t  epro_fr_narrative_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT, EPRO_FR_CODE("status", epro_fr_narrative, 1),
    { "div", EPRO_FR_PRIM, EPRO_FP_STRING, 0, 1, NULL, NULL }, EPRO_FR_END
};

/* in the order of EPRO_FR_RESOURCE_TYPE... */
static const epro_fr_elem_t  epro_fr_qr_e[] = {
    EPRO_FR_E("resourceType", EPRO_FR_PLAIN, EPRO_FP_STRING),
    EPRO_FR_P("id", EPRO_FP_ID), EPRO_FR_T("meta", epro_fr_meta_e, 0),
    EPRO_FR_P("implicitRules", EPRO_FP_URI),
    EPRO_FR_P("language", EPRO_FP_CODE),
    EPRO_FR_T("text", epro_fr_narrative_e, 0),
    EPRO_FR_E("contained", EPRO_FR_OWN, EPRO_FP_ARRAY), EPRO_FR_EXT,
    EPRO_FR_E("modifierExtension", EPRO_FR_EXTS, EPRO_FP_ARRAY),
    EPRO_FR_T("identifier", epro_fr_identifier_e, 0),
    EPRO_FR_T("basedOn", epro_fr_reference_e, 1),
    EPRO_FR_T("partOf", epro_fr_reference_e, 1),
    EPRO_FR_P("questionnaire", EPRO_FP_URI),
    EPRO_FR_P("status", EPRO_FP_CODE),
    EPRO_FR_T("subject", epro_fr_reference_e, 0),
    EPRO_FR_T("encounter", epro_fr_reference_e, 0),
    EPRO_FR_P("authored", EPRO_FP_DATETIME),
    EPRO_FR_T("author", epro_fr_reference_e, 0),
    EPRO_FR_T("source", epro_fr_reference_e, 0),
    EPRO_FR_E("item", EPRO_FR_OWN, EPRO_FP_ARRAY), EPRO_FR_END
};

/* their positions in the item and answer tables */
enum {
    EPRO_FR_IT_MODEXT = 2,
    EPRO_FR_IT_LINKID = 3,
    EPRO_FR_IT_TEXT = 5,
    EPRO_FR_IT_ANSWER = 6,
    EPRO_FR_IT_ITEM = 7,
    EPRO_FR_IT_N = 8,
    EPRO_FR_AN_MODEXT = 2,
    EPRO_FR_AN_ITEM = 3
};

static const epro_fr_elem_t  epro_fr_item_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT,
    EPRO_FR_E("modifierExtension", EPRO_FR_EXTS, EPRO_FP_ARRAY),
    EPRO_FR_P("linkId", EPRO_FP_STRING), EPRO_FR_P("definition", EPRO_FP_URI),
    EPRO_FR_P("text", EPRO_FP_STRING),
    EPRO_FR_E("answer", EPRO_FR_OWN, EPRO_FP_ARRAY),
    EPRO_FR_E("item", EPRO_FR_OWN, EPRO_FP_ARRAY), EPRO_FR_END
};

/* the value[x] at EPRO_FR_VALUE + their epro_fhir_kind_e */
#define EPRO_FR_VALUE  3

static const epro_fr_elem_t  epro_fr_answer_e[] = {
    EPRO_FR_ELEM_ID, EPRO_FR_EXT,
    EPRO_FR_E("modifierExtension", EPRO_FR_EXTS, EPRO_FP_ARRAY),
    EPRO_FR_E("item", EPRO_FR_OWN, EPRO_FP_ARRAY),
    EPRO_FR_P("valueBoolean", EPRO_FP_BOOLEAN),
    EPRO_FR_P("valueDecimal", EPRO_FP_DECIMAL),
    EPRO_FR_P("valueInteger", EPRO_FP_INTEGER),
    EPRO_FR_P("valueDate", EPRO_FP_DATE),
    EPRO_FR_P("valueDateTime", EPRO_FP_DATETIME),
    EPRO_FR_P("valueTime", EPRO_FP_TIME),
    EPRO_FR_P("valueString", EPRO_FP_STRING),
    EPRO_FR_P("valueUri", EPRO_FP_URI),
    EPRO_FR_T("valueCoding", epro_fr_coding_e, 0),
    EPRO_FR_T("valueQuantity", epro_fr_quantity_e, 0),
    EPRO_FR_T("valueAttachment", epro_fr_attachment_e, 0),
    EPRO_FR_T("valueReference", epro_fr_reference_e, 0), EPRO_FR_END
};

static const char *const  epro_fr_statuses[] = {
    "in-progress", "completed", "amended", "entered-in-error", "stopped",
    NULL
};

/* the value[x] each item type takes (choice: its options' kinds) */
static const epro_fhir_kind_e  epro_fr_kinds[] = {
    EPRO_FV_NONE, EPRO_FV_NONE, EPRO_FV_BOOLEAN, EPRO_FV_DECIMAL,
    EPRO_FV_INTEGER, EPRO_FV_DATE, EPRO_FV_DATETIME, EPRO_FV_TIME,
    EPRO_FV_STRING, EPRO_FV_STRING, EPRO_FV_URI, EPRO_FV_NONE,
    EPRO_FV_NONE, EPRO_FV_QUANTITY
};

static const char *const  epro_fr_type_names[] = {
    "group", "display", "boolean", "decimal", "integer", "date",
    "dateTime", "time", "string", "text", "url", "choice", "open-choice",
    "quantity"
};


static int epro_fr_top_more(epro_fr_ctx_t *ctx, const epro_node_t **top);
static int epro_fr_object(epro_fr_ctx_t *ctx, const epro_node_t *n,
    const epro_fr_elem_t *el, const char *path, const epro_node_t **f,
    uint32_t *seen);
static int epro_fr_element(epro_fr_ctx_t *ctx, const epro_node_t *n,
    const epro_node_t *m, const epro_fr_elem_t *el, const char *path);
static int epro_fr_one(epro_fr_ctx_t *ctx, const epro_node_t *v,
    const epro_fr_elem_t *el, const char *path, const char *name,
    size_t k);
static int epro_fr_pext(epro_fr_ctx_t *ctx, const epro_node_t *m,
    const epro_node_t *n, const epro_fr_elem_t *el, const char *path);
static int epro_fr_find(const epro_fr_elem_t *el, const char *key);
static size_t epro_fr_collect(const epro_node_t *list);
static int epro_fr_items(epro_fr_ctx_t *ctx, const epro_node_t *list,
    int32_t parent, const char *base, unsigned off);
static int epro_fr_item(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_node_t *answers, const epro_node_t *items, const char *path,
    unsigned off);
static int epro_fr_answer(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_node_t *e, const char *path, unsigned off);
static int epro_fr_check(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_fhir_value_t *v, const char *path);
static int epro_fr_enabled(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    unsigned depth);
static int epro_fr_enabled_now(epro_fr_ctx_t *ctx,
    const epro_fhir_item_t *it, unsigned depth);
static int epro_fr_search(epro_fr_ctx_t *ctx, const epro_fhir_enable_t *en,
    const epro_node_t *e, int32_t up, const int32_t *chain, unsigned depth,
    int *has);
static int epro_fr_match(const epro_fhir_enable_t *en, const epro_node_t *e,
    int *has);
static const epro_node_t *epro_fr_list(const epro_node_t *n,
    const char *name);
static int32_t epro_fr_scope(const epro_fhir_q_t *q, int32_t a, int32_t b);
static int epro_fr_condition(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_fhir_enable_t *en, unsigned depth);
static const epro_node_t *epro_fr_value_node(const epro_node_t *answer,
    epro_fhir_kind_e *kind, int *count);
static int epro_fr_map(epro_fr_ctx_t *ctx, const epro_node_t **top);
static int epro_fr_ref_id(epro_str_t *out, const epro_node_t *ref,
    const char *type);
static int epro_fr_answers_json(epro_fr_ctx_t *ctx);
static int epro_fr_value_json(epro_buf_t *b, const epro_fhir_value_t *v,
    epro_alloc_t *a);
static int epro_fr_add(epro_buf_t *b, const char *s, epro_alloc_t *a);
static int epro_fr_issue(epro_fr_ctx_t *ctx, int structure,
    const char *code, const char *expr, const char *member,
    const char *fmt, ...);
static void epro_fr_index(char *out, const char *base, const char *name,
    size_t k);
static const char *epro_fr_number(char *buf, double v);
static const char *epro_fr_value_number(char *buf,
    const epro_fhir_value_t *v);
static void epro_fr_path(char *out, const char *fmt, ...);
static void epro_fr_join(char *out, const char *base, const char *name);
static void epro_fr_reset(epro_fhir_request_t *req, const char *base);


int
epro_fhir_parse(epro_fhir_request_t *req, const char *body, size_t len,
    epro_alloc_t *a)
{
    int                  rc;
    char                 msg[EPRO_FHIR_PATH_MAX];
    const char          *s;
    epro_str_t           span;
    epro_fr_ctx_t        ctx;
    epro_node_t         *root;
    epro_request_t       chk;
    const epro_node_t   *m;

    epro_fr_reset(req, EPRO_FR_QR);

    memset(&ctx, 0, sizeof(epro_fr_ctx_t));
    ctx.req = req;
    ctx.a = a;
    ctx.base = EPRO_FR_QR;

    memset(&chk, 0, sizeof(epro_request_t));

    rc = epro_json_tree(body, len, &chk, a, &root);

    if (rc == EPRO_NOMEM) {
        return EPRO_NOMEM;
    }

    if (rc != EPRO_OK) {
        snprintf(msg, sizeof(msg), "%s%s%s", chk.errors[0].path,
                 chk.errors[0].path[0] ? ": " : "", chk.errors[0].message);

        if (epro_fr_issue(&ctx, 1, "structure", "", NULL, "%s", msg)
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        goto failed;
    }

    span.data = epro_node_span(root, &span.len);

    m = (epro_node_type(root) == EPRO_NODE_OBJECT)
        ? epro_node_member(root, "resourceType") : NULL;
    s = m ? epro_node_string(m) : NULL;

    if (s != NULL && req->bundle != NULL && strcmp(s, "Bundle") == 0) {
        return epro_fhir_bundle_check(req, root, a);
    }

    if (s == NULL || strcmp(s, EPRO_FR_QR) != 0) {
        if (epro_fr_issue(&ctx, 1, "structure", "", NULL, "the body must be a "
                          "QuestionnaireResponse resource (resourceType)")
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        goto failed;
    }

    rc = epro_fhir_check_node(req, root, span.data, span.len, EPRO_FR_QR, a);
    req->root = root;

    return rc;

failed:

    req->status = req->nstructure ? EPRO_STATUS_BAD_JSON : EPRO_STATUS_INVALID;

    return EPRO_ERROR;
}


/*
 * The check and mapping of one QuestionnaireResponse, the tree root,
 * whose text as sent is payload: a body's, or a Bundle entry's resource.
 */

int
epro_fhir_check_node(epro_fhir_request_t *req, const epro_node_t *root,
    const char *payload, size_t plen, const char *base, epro_alloc_t *a)
{
    int                  rc;
    char                 msg[EPRO_FHIR_PATH_MAX], path[EPRO_FHIR_PATH_MAX];
    size_t               n;
    uint32_t             seen;
    const char          *s;
    epro_fr_ctx_t        ctx;
    const epro_node_t   *top[EPRO_FR_NTOP];

    epro_fr_reset(req, base);

    memset(&ctx, 0, sizeof(epro_fr_ctx_t));
    ctx.req = req;
    ctx.a = a;
    ctx.base = base;

    req->sub.payload.data = payload;
    req->sub.payload.len = plen;

    /* every element known, once, of its datatype */

    memset(top, 0, sizeof(top));

    rc = epro_fr_object(&ctx, root, epro_fr_qr_e, base, top, &seen);

    if (rc == EPRO_NOMEM || epro_fr_top_more(&ctx, top) == EPRO_NOMEM) {
        return EPRO_NOMEM;
    }

    if (!(seen & (1u << EPRO_FR_STATUS))) {
        if (epro_fr_issue(&ctx, 1, "required", base, "status",
                          "status is required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    if (top[EPRO_FR_STATUS]) {
        s = epro_node_string(top[EPRO_FR_STATUS]);
        req->fhir_status.data = s;
        req->fhir_status.len = strlen(s);
        ctx.completed = (strcmp(s, "completed") == 0
                         || strcmp(s, "amended") == 0);
    }

    /* the Questionnaire's rules */

    if (!(seen & (1u << EPRO_FR_QUESTIONNAIRE))) {
        if (epro_fr_issue(&ctx, 0, "required", base, "questionnaire",
                          "the canonical url of the Questionnaire is "
                          "required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

    } else if (top[EPRO_FR_QUESTIONNAIRE]) {
        s = epro_node_string(top[EPRO_FR_QUESTIONNAIRE]);
        n = strlen(s);
        req->sub.instrument.data = s;
        req->sub.instrument.len = n;

        ctx.q = epro_fhir_find(req->set, s, n);

        if (ctx.q == NULL) {
            epro_fr_join(path, base, "questionnaire");

            if (epro_fr_issue(&ctx, 0, "not-found", path, NULL,
                              "no Questionnaire \"%s\" is known here", s)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }
    }

    if (ctx.q) {
        req->questionnaire = ctx.q;
        n = ctx.q->nitems;

        ctx.at = a->alloc(a->ctx, n * sizeof(void *));
        ctx.mark = a->alloc(a->ctx, n * sizeof(uint32_t));
        ctx.head = a->alloc(a->ctx, n * sizeof(int32_t));
        ctx.tail = a->alloc(a->ctx, n * sizeof(int32_t));
        ctx.enabled = a->alloc(a->ctx, n);

        if (ctx.at == NULL || ctx.mark == NULL || ctx.head == NULL
            || ctx.tail == NULL || ctx.enabled == NULL)
        {
            return EPRO_NOMEM;
        }

        memset(ctx.enabled, 0, n);
        memset(ctx.mark, 0, n * sizeof(uint32_t));
        memset(ctx.head, 0xff, n * sizeof(int32_t));

        if (top[EPRO_FR_ITEM]) {
            ctx.root = top[EPRO_FR_ITEM];
            ctx.maxrecs = epro_fr_collect(top[EPRO_FR_ITEM]);

            ctx.recs = a->alloc(a->ctx, (ctx.maxrecs + 1)
                                        * sizeof(epro_fr_rec_t));
            if (ctx.recs == NULL) {
                return EPRO_NOMEM;
            }
        }

        if (top[EPRO_FR_ITEM] || !(seen & (1u << EPRO_FR_ITEM))) {
            rc = epro_fr_items(&ctx, top[EPRO_FR_ITEM], -1, ctx.base, 0);
            if (rc != EPRO_OK) {
                return rc;
            }
        }

        if (ctx.q->total >= 0) {
            req->has_score = 1;
            req->score = ctx.score;

            if (ctx.total_path
                && fabs(ctx.total.num - ctx.score) > 1e-9)
            {
                if (epro_fr_issue(&ctx, 0, "business-rule", ctx.total_path,
                                  NULL,
                                  "the total sent, %s, is not the sum of "
                                  "the answers' weights, %s",
                                  epro_fr_number(msg, ctx.total.num),
                                  epro_fr_number(msg + 40, ctx.score))
                    != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }
            }
        }
    }

    rc = epro_fr_map(&ctx, top);
    if (rc != EPRO_OK) {
        return rc;
    }

    if (req->nfound) {
        goto failed;
    }

    return ctx.q ? epro_fr_answers_json(&ctx) : EPRO_OK;

failed:

    req->status = req->nstructure ? EPRO_STATUS_BAD_JSON : EPRO_STATUS_INVALID;

    return EPRO_ERROR;
}


static void
epro_fr_reset(epro_fhir_request_t *req, const char *base)
{
    req->status = EPRO_OK;
    req->base = base;
    req->questionnaire = NULL;
    memset(&req->sub, 0, sizeof(epro_submission_t));
    req->fhir_status.data = NULL;
    req->fhir_status.len = 0;
    req->answers.data = NULL;
    req->answers.len = 0;
    req->score = 0;
    req->has_score = 0;
    req->nissues = 0;
    req->nfound = 0;
    req->nstructure = 0;
    req->truncated = 0;
    req->root = NULL;
}


/* what the table does not say: status, contained, modifierExtension */

static int
epro_fr_top_more(epro_fr_ctx_t *ctx, const epro_node_t **top)
{
    char                path[EPRO_FHIR_PATH_MAX];
    size_t              k;
    const epro_node_t  *e, *t;

    if (top[EPRO_FR_STATUS]
        && epro_fhir_name(epro_fr_statuses,
                          epro_node_string(top[EPRO_FR_STATUS])) < 0)
    {
        top[EPRO_FR_STATUS] = NULL;

        if (epro_fr_issue(ctx, 1, "code-invalid", ctx->base, "status",
                          "must be one of in-progress, completed, amended, "
                          "entered-in-error, stopped") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    /* a modifier not understood changes the meaning: refuse it */

    if (top[EPRO_FR_MODIFIER_EXTENSION]
        && epro_fr_issue(ctx, 0, "not-supported", ctx->base,
                         "modifierExtension", "no modifierExtension is "
                         "understood here") != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    e = top[EPRO_FR_CONTAINED] ? epro_node_child(top[EPRO_FR_CONTAINED])
                               : NULL;

    for (k = 0; e; k++, e = epro_node_next(e)) {
        t = (epro_node_type(e) == EPRO_NODE_OBJECT)
            ? epro_node_member(e, "resourceType") : NULL;

        if (t == NULL || epro_fhir_primitive(t, EPRO_FP_CODE) != NULL) {
            epro_fr_index(path, ctx->base, "contained", k);

            return (epro_fr_issue(ctx, 1, "structure", path, NULL, "must be "
                                  "a resource (with a resourceType)")
                    != EPRO_OK) ? EPRO_NOMEM : EPRO_ERROR;
        }
    }

    return EPRO_OK;
}


/*
 * The members of the object n, of the elements el, at path: each known,
 * once, of its type; "_x" only beside a primitive x.  f[i] gets el[i]'s
 * member if it is right (f may be NULL), *seen a bit for each present.
 * EPRO_OK, EPRO_ERROR (reported) or EPRO_NOMEM.
 */

static int
epro_fr_object(epro_fr_ctx_t *ctx, const epro_node_t *n,
    const epro_fr_elem_t *el, const char *path, const epro_node_t **f,
    uint32_t *seen)
{
    int                 i, rc, ret;
    uint32_t            got, ext, bit;
    const char         *key, *name, *msg;
    epro_fhir_kind_e    k;
    const epro_node_t  *m;

    got = 0;
    ext = 0;
    ret = EPRO_OK;

    for (m = epro_node_child(n); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        name = key + (key[0] == '_');

        /* an answer's value[x] by kind: twelve names all "value..." */

        k = (el == epro_fr_answer_e) ? epro_fhir_kind(name, "value")
                                     : EPRO_FV_NONE;
        i = k ? EPRO_FR_VALUE + (int) k : epro_fr_find(el, name);
        bit = (i < 0) ? 0 : 1u << i;
        msg = NULL;

        if (i < 0) {
            msg = "unknown element";

        } else if (key[0] == '_' && el[i].kind != EPRO_FR_PRIM) {
            msg = "unknown element (only a primitive has a \"_\" sibling)";

        } else if (((key[0] == '_') ? ext : got) & bit) {
            msg = "duplicate element";
        }

        if (msg != NULL) {
            if (epro_fr_issue(ctx, 1, "structure", path, key, "%s", msg)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            ret = EPRO_ERROR;
            continue;
        }

        if (key[0] == '_') {
            ext |= bit;
            rc = epro_fr_pext(ctx, m, n, &el[i], path);

        } else {
            got |= bit;
            rc = epro_fr_element(ctx, n, m, &el[i], path);

            if (rc == EPRO_OK && f != NULL) {
                f[i] = m;
            }
        }

        if (rc == EPRO_NOMEM) {
            return rc;
        }

        if (rc != EPRO_OK) {
            ret = EPRO_ERROR;
        }
    }

    for (i = 0; el[i].name; i++) {
        if (el[i].required && !(got & (1u << i))) {
            if (epro_fr_issue(ctx, 1, "required", path, el[i].name,
                              "%s is required", el[i].name) != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            ret = EPRO_ERROR;
        }
    }

    if (seen != NULL) {
        *seen = got;
    }

    return ret;
}


/*
 * The member m of the object n, of the element el: an array of them if
 * it repeats, where a primitive may be null if its "_x" entry is not
 */

static int
epro_fr_element(epro_fr_ctx_t *ctx, const epro_node_t *n,
    const epro_node_t *m, const epro_fr_elem_t *el, const char *path)
{
    int                 rc, ret;
    char                name[32];
    size_t              k;
    const epro_node_t  *e, *x;

    if (!el->many) {
        return epro_fr_one(ctx, m, el, path, el->name, EPRO_FR_ONE);
    }

    if (epro_fhir_primitive(m, EPRO_FP_ARRAY) != NULL) {
        return (epro_fr_issue(ctx, 1, "structure", path, el->name,
                              "must be a non-empty array") != EPRO_OK)
               ? EPRO_NOMEM : EPRO_ERROR;
    }

    ret = EPRO_OK;
    x = NULL;

    if (el->kind == EPRO_FR_PRIM) {
        name[0] = '_';
        (void) snprintf(name + 1, sizeof(name) - 1, "%s", el->name);
        x = epro_node_member(n, name);
        x = (x && epro_node_type(x) == EPRO_NODE_ARRAY) ? epro_node_child(x)
                                                        : NULL;
    }

    for (k = 0, e = epro_node_child(m); e; k++, e = epro_node_next(e)) {
        if (epro_node_type(e) == EPRO_NODE_NULL && x != NULL
            && epro_node_type(x) != EPRO_NODE_NULL)
        {
            rc = EPRO_OK;

        } else {
            rc = epro_fr_one(ctx, e, el, path, el->name, k);
        }

        x = x ? epro_node_next(x) : NULL;

        if (rc == EPRO_NOMEM) {
            return rc;
        }

        if (rc != EPRO_OK) {
            ret = EPRO_ERROR;
        }
    }

    return ret;
}


/*
 * A value of el at path "." name, and "[" k "]" but for EPRO_FR_ONE.
 * The path is made only for a datatype's members or an issue.
 */

static int
epro_fr_one(epro_fr_ctx_t *ctx, const epro_node_t *v,
    const epro_fr_elem_t *el, const char *path, const char *name, size_t k)
{
    char         sub[EPRO_FHIR_PATH_MAX], codes[128];
    size_t       i, n;
    const char  *msg;

    msg = (el->kind == EPRO_FR_EXTS) ? epro_fhir_extensions(v)
                                     : epro_fhir_primitive(v, el->prim);

    if (msg == NULL && el->kind != EPRO_FR_TYPE
        && (el->codes == NULL
            || epro_fhir_name(el->codes, epro_node_string(v)) >= 0))
    {
        return EPRO_OK;
    }

    if (k == EPRO_FR_ONE) {
        epro_fr_join(sub, path, name);

    } else {
        epro_fr_index(sub, path, name, k);
    }

    if (msg == NULL && el->kind == EPRO_FR_TYPE) {
        return epro_fr_object(ctx, v, el->type, sub, NULL, NULL);
    }

    if (msg == NULL) {
        /* not one of the codes, which are short: each fits */

        for (i = 0, n = 0; el->codes[i] && n + 40 < sizeof(codes); i++) {
            n += snprintf(codes + n, sizeof(codes) - n, "%s%s",
                          i ? ", " : "", el->codes[i]);
        }

        return (epro_fr_issue(ctx, 1, "structure", sub, NULL,
                              "must be one of %s", codes) != EPRO_OK)
               ? EPRO_NOMEM : EPRO_ERROR;
    }

    return (epro_fr_issue(ctx, 1, "structure", sub, NULL, "%s", msg)
            != EPRO_OK) ? EPRO_NOMEM : EPRO_ERROR;
}


/*
 * "_x" in the object n, FHIR JSON's extensions of its primitive x, el:
 * {id, extension}; if x repeats, an array of those or nulls as long as
 * x's.
 */

static int
epro_fr_pext(epro_fr_ctx_t *ctx, const epro_node_t *m, const epro_node_t *n,
    const epro_fr_elem_t *el, const char *path)
{
    int                 rc, ret;
    size_t              k;
    const char         *key;
    const epro_node_t  *e, *x;

    key = epro_node_key(m);

    if (!el->many) {
        return epro_fr_one(ctx, m, &epro_fr_pext_t, path, key, EPRO_FR_ONE);
    }

    if (epro_node_type(m) != EPRO_NODE_ARRAY || epro_node_child(m) == NULL) {
        return (epro_fr_issue(ctx, 1, "structure", path, key, "must be a "
                              "non-empty array") != EPRO_OK)
               ? EPRO_NOMEM : EPRO_ERROR;
    }

    ret = EPRO_OK;

    for (k = 0, e = epro_node_child(m); e; k++, e = epro_node_next(e)) {
        if (epro_node_type(e) == EPRO_NODE_NULL) {
            continue;
        }

        rc = epro_fr_one(ctx, e, &epro_fr_pext_t, path, key, k);

        if (rc == EPRO_NOMEM) {
            return rc;
        }

        if (rc != EPRO_OK) {
            ret = EPRO_ERROR;
        }
    }

    x = epro_node_member(n, el->name);

    if (x && epro_node_type(x) == EPRO_NODE_ARRAY && epro_node_count(x) != k)
    {
        return (epro_fr_issue(ctx, 1, "structure", path, key, "must be as "
                              "long as %s", el->name) != EPRO_OK)
               ? EPRO_NOMEM : EPRO_ERROR;
    }

    return ret;
}


static int
epro_fr_find(const epro_fr_elem_t *el, const char *key)
{
    int  i;

    for (i = 0; el[i].name; i++) {
        if (el[i].name[0] == key[0] && strcmp(el[i].name, key) == 0) {
            return i;
        }
    }

    return -1;
}


/* the first walk: how many answers there are */

static size_t
epro_fr_collect(const epro_node_t *list)
{
    size_t              n;
    const epro_node_t  *e, *v, *ans, *a;

    n = 0;

    if (epro_node_type(list) != EPRO_NODE_ARRAY) {
        return 0;
    }

    for (e = epro_node_child(list); e; e = epro_node_next(e)) {
        if (epro_node_type(e) != EPRO_NODE_OBJECT) {
            continue;
        }

        ans = epro_node_member(e, "answer");

        if (ans && epro_node_type(ans) == EPRO_NODE_ARRAY) {
            for (a = epro_node_child(ans); a; a = epro_node_next(a)) {
                n++;

                if (epro_node_type(a) == EPRO_NODE_OBJECT) {
                    v = epro_node_member(a, "item");

                    if (v) {
                        n += epro_fr_collect(v);
                    }
                }
            }
        }

        v = epro_node_member(e, "item");

        if (v) {
            n += epro_fr_collect(v);
        }
    }

    return n;
}


/*
 * The items of one level: the top (parent -1), a group's, or an
 * answer's.  off: the level is disabled by an enableWhen above it.
 */

static int
epro_fr_items(epro_fr_ctx_t *ctx, const epro_node_t *list, int32_t parent,
    const char *base, unsigned off)
{
    int                      rc;
    char                     path[EPRO_FHIR_PATH_MAX];
    size_t                   k;
    int64_t                  last;
    int32_t                  c, idx;
    uint32_t                 my, seen, lvl;
    unsigned                 bad;
    const char              *msg, *id;
    const epro_node_t       *e, *f[EPRO_FR_IT_N];
    const epro_fhir_item_t  *it, *up;
    const epro_fhir_q_t     *q;

    q = ctx->q;
    my = ++ctx->stamp;
    last = -1;
    up = (parent >= 0) ? &q->items[parent] : NULL;
    lvl = up ? up->depth + 1 : 0;

    for (k = 0, e = list ? epro_node_child(list) : NULL;
         e;
         k++, e = epro_node_next(e))
    {
        epro_fr_index(path, base, "item", k);

        if (epro_node_type(e) != EPRO_NODE_OBJECT) {
            if (epro_fr_issue(ctx, 1, "structure", path, NULL,
                              "must be an object")
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        memset(f, 0, sizeof(f));

        rc = epro_fr_object(ctx, e, epro_fr_item_e, path, f, &seen);
        if (rc == EPRO_NOMEM) {
            return rc;
        }

        bad = (rc != EPRO_OK);

        if (f[EPRO_FR_IT_MODEXT]
            && epro_fr_issue(ctx, 0, "not-supported", path,
                             "modifierExtension", "no modifierExtension is "
                             "understood here") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        if (f[EPRO_FR_IT_ANSWER] && f[EPRO_FR_IT_ITEM]) {
            if (epro_fr_issue(ctx, 1, "invariant", path, NULL, "qrs-1: nested "
                              "items can't be beneath both item and answer")
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            bad = 1;
        }

        if (!(seen & (1u << EPRO_FR_IT_LINKID))) {
            if (epro_fr_issue(ctx, 1, "required", path, NULL,
                              "linkId is required")
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        if (f[EPRO_FR_IT_LINKID] == NULL) {
            continue;
        }

        id = epro_node_string(f[EPRO_FR_IT_LINKID]);
        it = epro_fhir_item(q, id, strlen(id));

        if (it == NULL) {
            if (epro_fr_issue(ctx, 0, "structure", path, NULL,
                              "linkId \"%s\" is "
                              "not an item of %s", id, q->canonical.data)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        if (it->parent != parent) {
            if (epro_fr_issue(ctx, 0, "structure", path, NULL,
                              "\"%s\" is not an "
                              "item %s%s%s", id, up ? "of \"" : "at the top",
                              up ? up->link_id.data : "", up ? "\"" : "")
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        idx = (int32_t) (it - q->items);

        if ((int64_t) it->pos < last
            || ((int64_t) it->pos == last
                && (it->type != EPRO_FHIR_GROUP || !it->repeats)))
        {
            msg = ((int64_t) it->pos < last)
                  ? "is out of the Questionnaire's order"
                  : (it->type == EPRO_FHIR_GROUP)
                    ? "is repeated, and the group does not repeat"
                    : "is repeated: the answers of a question go in "
                      "one item (qrs-2)";

            if (epro_fr_issue(ctx, 0, "structure", path, NULL, "\"%s\" %s", id,
                              msg) != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

        } else {
            last = it->pos;
        }

        ctx->mark[idx] = my;

        if (f[EPRO_FR_IT_TEXT]
            && (it->text.data == NULL
                || strcmp(epro_node_string(f[EPRO_FR_IT_TEXT]),
                          it->text.data) != 0))
        {
            if (epro_fr_issue(ctx, 0, "value", path, "text",
                              "is not the text of "
                              "\"%s\" in the Questionnaire", id)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }

        if (bad) {
            continue;
        }

        ctx->inst[lvl] = e;

        rc = epro_fr_item(ctx, it, f[EPRO_FR_IT_ANSWER], f[EPRO_FR_IT_ITEM],
                          path, off || !epro_fr_enabled(ctx, it, 0));
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    /* what is missing: only when the response says it is complete */

    if (!ctx->completed || off) {
        return EPRO_OK;
    }

    for (c = up ? up->first : q->first; c >= 0; c = q->items[c].next) {
        it = &q->items[c];
        ctx->inst[lvl] = NULL;

        if (!it->required || ctx->mark[c] == my
            || !epro_fr_enabled(ctx, it, 0))
        {
            continue;
        }

        if (epro_fr_issue(ctx, 0, "required", base, NULL, "item \"%s\" is "
                          "required", it->link_id.data)
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    return EPRO_OK;
}


static int
epro_fr_item(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_node_t *answers, const epro_node_t *items, const char *path,
    unsigned off)
{
    int                 rc;
    char                sub[EPRO_FHIR_PATH_MAX];
    size_t              k, n;
    const epro_node_t  *e;

    if (it->type == EPRO_FHIR_GROUP || it->type == EPRO_FHIR_DISPLAY) {
        if (answers) {
            if (epro_fr_issue(ctx, 0, "structure", path, NULL,
                              "a %s item has no "
                              "answers", epro_fr_type_names[it->type])
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }

        /* even without items: what the group requires is missing */

        if (it->type == EPRO_FHIR_GROUP) {
            return epro_fr_items(ctx, items, (int32_t) (it - ctx->q->items),
                                 path, off);
        }

        if (items) {
            return (epro_fr_issue(ctx, 0, "structure", path, NULL, "a display "
                                  "item has no items") != EPRO_OK)
                   ? EPRO_NOMEM : EPRO_OK;
        }

        return EPRO_OK;
    }

    if (items) {
        if (epro_fr_issue(ctx, 0, "structure", path, NULL,
                          "the items nested in "
                          "a question go in its answers") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    n = 0;

    for (e = answers ? epro_node_child(answers) : NULL;
         e;
         e = epro_node_next(e))
    {
        n++;
    }

    if (n == 0) {
        if (it->required && ctx->completed && !off) {
            return (epro_fr_issue(ctx, 0, "required", path, NULL, "\"%s\" is "
                                  "required", it->link_id.data) != EPRO_OK)
                   ? EPRO_NOMEM : EPRO_OK;
        }

        return EPRO_OK;
    }

    if (off) {
        if (epro_fr_issue(ctx, 0, "business-rule", path, NULL, "\"%s\" is "
                          "answered but disabled by its enableWhen",
                          it->link_id.data) != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    if (n > 1 && !it->repeats) {
        if (epro_fr_issue(ctx, 0, "structure", path, NULL, "%lu answers, and "
                          "\"%s\" does not repeat", (unsigned long) n,
                          it->link_id.data) != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    for (k = 0, e = epro_node_child(answers); e; k++, e = epro_node_next(e))
    {
        epro_fr_index(sub, path, "answer", k);

        rc = epro_fr_answer(ctx, it, e, sub, off);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    return EPRO_OK;
}


static int
epro_fr_answer(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_node_t *e, const char *path, unsigned off)
{
    int                 rc;
    char                sub[EPRO_FHIR_PATH_MAX];
    unsigned            two;
    const char         *key;
    epro_fhir_kind_e    kind, k;
    epro_fhir_value_t   v;
    const epro_node_t  *m, *vn, *items, *f[EPRO_FR_VALUE + EPRO_FV_REFERENCE
                                            + 1];

    if (epro_node_type(e) != EPRO_NODE_OBJECT || epro_node_child(e) == NULL)
    {
        return (epro_fr_issue(ctx, 1, "structure", path, NULL, "must be a "
                              "non-empty object") != EPRO_OK)
               ? EPRO_NOMEM : EPRO_OK;
    }

    memset(f, 0, sizeof(f));

    rc = epro_fr_object(ctx, e, epro_fr_answer_e, path, f, NULL);
    if (rc == EPRO_NOMEM) {
        return rc;
    }

    if (f[EPRO_FR_AN_MODEXT]
        && epro_fr_issue(ctx, 0, "not-supported", path, "modifierExtension",
                         "no modifierExtension is understood here")
           != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    /*
     * R4: value[x] 0..1 (an answer of nested items alone counts too), and
     * a "_valueX" is one: one kind only
     */

    kind = EPRO_FV_NONE;
    two = 0;

    for (m = epro_node_child(e); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        k = epro_fhir_kind(key + (key[0] == '_'), "value");

        if (kind == EPRO_FV_NONE || k == EPRO_FV_NONE || k == kind) {
            kind = (kind == EPRO_FV_NONE) ? k : kind;
            continue;
        }

        if (epro_fr_issue(ctx, 1, "structure", path, key,
                          "only one value[x] per answer") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        two = 1;
        break;
    }

    items = f[EPRO_FR_AN_ITEM];

    /* held to R4 by the table when it is there: only read here */

    vn = (kind != EPRO_FV_NONE) ? f[EPRO_FR_VALUE + kind] : NULL;

    if (vn != NULL && !two && !off && epro_fhir_read(vn, kind, &v) == 0) {
        epro_fr_join(sub, path, epro_node_key(vn));

        rc = epro_fr_check(ctx, it, &v, sub);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    /* even without items: what the answer's children require is missing */

    if (items || it->first >= 0) {
        return epro_fr_items(ctx, items, (int32_t) (it - ctx->q->items),
                             path, off);
    }

    return EPRO_OK;
}


/* the first value[x] of an answer, its kind and how many there are */

static const epro_node_t *
epro_fr_value_node(const epro_node_t *answer, epro_fhir_kind_e *kind,
    int *count)
{
    epro_fhir_kind_e    k;
    const epro_node_t  *m, *found;

    found = NULL;
    *count = 0;
    *kind = EPRO_FV_NONE;

    for (m = epro_node_child(answer); m; m = epro_node_next(m)) {
        k = epro_fhir_kind(epro_node_key(m), "value");

        if (k == EPRO_FV_NONE) {
            continue;
        }

        if (found == NULL) {
            found = m;
            *kind = k;
        }

        (*count)++;
    }

    return found;
}


/* one answer's value against its item: type, options, bounds; noted */

static int
epro_fr_check(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_fhir_value_t *v, const char *path)
{
    char                      n1[EPRO_FR_NUM_MAX], n2[EPRO_FR_NUM_MAX];
    size_t                    i, chars, len;
    epro_fr_rec_t            *r;
    epro_fhir_kind_e          want;
    const epro_fhir_option_t *o;
    const epro_fhir_value_t  *bound;

    static const char *const  kinds[] = {
        "", "valueBoolean", "valueDecimal", "valueInteger", "valueDate",
        "valueDateTime", "valueTime", "valueString", "valueUri",
        "valueCoding", "valueQuantity", "valueAttachment", "valueReference"
    };

    o = NULL;
    want = epro_fr_kinds[it->type];

    if (it->type == EPRO_FHIR_CHOICE || it->type == EPRO_FHIR_OPEN_CHOICE) {
        for (i = 0; i < it->noptions; i++) {
            if (it->options[i].value.kind == v->kind
                && epro_fhir_compare(&it->options[i].value, v) == 0)
            {
                o = &it->options[i];
                break;
            }
        }

        if (o == NULL && it->type == EPRO_FHIR_OPEN_CHOICE
            && v->kind == EPRO_FV_STRING)
        {
            want = EPRO_FV_STRING;

        } else if (o == NULL && it->noptions == 0) {
            /* no answerOption (open-choice may have none): any Coding */
            want = EPRO_FV_CODING;

        } else if (o == NULL) {
            for (i = 0; i < it->noptions; i++) {
                if (it->options[i].value.kind == v->kind) {
                    break;
                }
            }

            if (i < it->noptions) {
                return (epro_fr_issue(ctx, 0, "code-invalid", path, NULL,
                                      "is not "
                                      "one of the answerOptions of \"%s\"",
                                      it->link_id.data) != EPRO_OK)
                       ? EPRO_NOMEM : EPRO_OK;
            }

            want = it->options[0].value.kind;

        } else {
            want = v->kind;
        }
    }

    if (v->kind != want) {
        return (epro_fr_issue(ctx, 0, "value", path, NULL, "\"%s\" is of type "
                              "%s: it takes a %s", it->link_id.data,
                              epro_fr_type_names[it->type], kinds[want])
                != EPRO_OK) ? EPRO_NOMEM : EPRO_OK;
    }

    for (i = 0; i < 2; i++) {
        bound = i ? &it->max : &it->min;

        if (bound->kind == EPRO_FV_NONE
            || epro_fhir_compare(v, bound) != (i ? 1 : -1))
        {
            continue;
        }

        if (bound->str.data) {
            snprintf(n1, sizeof(n1), "%.*s", (int) bound->str.len,
                     bound->str.data);

        } else {
            epro_fr_value_number(n1, bound);
        }

        return (epro_fr_issue(ctx, 0, "value", path, NULL, "is %s the %s, %s",
                              i ? "above" : "below",
                              i ? "maxValue" : "minValue", n1) != EPRO_OK)
               ? EPRO_NOMEM : EPRO_OK;
    }

    if (it->max_length && (v->kind == EPRO_FV_STRING
                           || v->kind == EPRO_FV_URI))
    {
        len = v->str.len;
        chars = epro_utf8_chars(v->str.data, len);

        if (chars > it->max_length) {
            return (epro_fr_issue(ctx, 0, "value", path, NULL,
                                  "%lu characters, "
                                  "the maxLength is %lu",
                                  (unsigned long) chars,
                                  (unsigned long) it->max_length)
                    != EPRO_OK) ? EPRO_NOMEM : EPRO_OK;
        }
    }

    /* as written: "1.50" has two places though its double is 1.5 */

    if (it->max_places >= 0
        && (v->kind == EPRO_FV_DECIMAL || v->kind == EPRO_FV_QUANTITY)
        && (v->text.data ? epro_fhir_places_text(v->text.data, v->text.len)
                         : epro_fhir_places(v->num))
           > (size_t) it->max_places)
    {
        return (epro_fr_issue(ctx, 0, "value", path, NULL,
                              "%s has more than %d "
                              "decimal places", epro_fr_value_number(n2, v),
                              it->max_places) != EPRO_OK)
               ? EPRO_NOMEM : EPRO_OK;
    }

    if (it - ctx->q->items == ctx->q->total) {
        if (ctx->total_path == NULL) {
            len = strlen(path);

            ctx->total_path = ctx->a->alloc(ctx->a->ctx, len + 1);
            if (ctx->total_path == NULL) {
                return EPRO_NOMEM;
            }

            memcpy(ctx->total_path, path, len + 1);
            ctx->total = *v;
        }

    } else if (o && o->has_weight) {
        ctx->score += o->weight;
    }

    /* noted for the flattened answers, in the Questionnaire's order */

    if (ctx->nrecs == ctx->maxrecs) {
        return EPRO_OK;
    }

    r = &ctx->recs[ctx->nrecs];
    r->value = *v;
    r->next = -1;

    i = (size_t) (it - ctx->q->items);

    if (ctx->head[i] < 0) {
        ctx->head[i] = (int32_t) ctx->nrecs;

    } else {
        ctx->recs[ctx->tail[i]].next = (int32_t) ctx->nrecs;
    }

    ctx->tail[i] = (int32_t) ctx->nrecs++;

    return EPRO_OK;
}


/*
 * An item is enabled by its enableWhen and by its ancestors' (the walk
 * passes "off" down); a question that is disabled has no answer for the
 * items that depend on it (R4's comment on enableWhen; the reference
 * validator does not follow it).  Each result is kept with the instance
 * it depends on (that of the innermost item its conditions share with
 * their questions), however deep the evaluation that asked: an item is
 * evaluated once per instance, so the cost stays linear in the body.  An
 * item asked again while its own evaluation runs is in a cycle of
 * enableWhen, which R4 does not forbid: there it is disabled, as it is
 * past EPRO_FR_EW_DEPTH items asking one another (the C stack).
 */

#define EPRO_FR_EW_DEPTH  128
#define EPRO_FR_EW_BUSY   4

static int
epro_fr_enabled(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    unsigned depth)
{
    int          r;
    size_t       i, k;
    int32_t      self, scope, s;
    const void  *at;

    if (it->nenable == 0) {
        return 1;
    }

    self = (int32_t) (it - ctx->q->items);
    scope = -1;

    for (k = 0; k < it->nenable; k++) {
        s = epro_fr_scope(ctx->q, self, it->enable[k].target);

        if (s >= 0 && (scope < 0 || ctx->q->items[s].depth
                                    > ctx->q->items[scope].depth))
        {
            scope = s;
        }
    }

    at = (scope < 0) ? (const void *) ctx
                     : (const void *) ctx->inst[ctx->q->items[scope].depth];
    i = (size_t) self;

    if (at != NULL && (ctx->enabled[i] & 3) && ctx->at[i] == at) {
        return (ctx->enabled[i] & 3) == 1;
    }

    if ((ctx->enabled[i] & EPRO_FR_EW_BUSY) || depth >= EPRO_FR_EW_DEPTH) {
        return 0;
    }

    ctx->enabled[i] |= EPRO_FR_EW_BUSY;

    r = epro_fr_enabled_now(ctx, it, depth);

    if (at != NULL) {
        ctx->enabled[i] = r ? 1 : 2;
        ctx->at[i] = at;

    } else {
        ctx->enabled[i] &= ~EPRO_FR_EW_BUSY;
    }

    return r;
}


static int
epro_fr_enabled_now(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    unsigned depth)
{
    int     r;
    size_t  k;

    for (k = 0; k < it->nenable; k++) {
        r = epro_fr_condition(ctx, it, &it->enable[k], depth);

        if (it->enable_any && r) {
            return 1;
        }

        if (!it->enable_any && !r) {
            return 0;
        }
    }

    return it->nenable == 0 || !it->enable_any;
}


/*
 * One enableWhen of the item "it" at the walk's path: its question's
 * answers in the instance of the innermost item holding both, found down
 * the question's ancestors from there (every repetition on the way; any
 * answer that matches will do).  R4: an item without an answer matches
 * nothing but "exists false".
 */

static int
epro_fr_condition(epro_fr_ctx_t *ctx, const epro_fhir_item_t *it,
    const epro_fhir_enable_t *en, unsigned depth)
{
    int                  r, has;
    int32_t              scope, c, chain[EPRO_FHIR_MAX_LEVELS];
    uint32_t             from, n;
    const epro_node_t   *saved[EPRO_FHIR_MAX_LEVELS];
    const epro_fhir_q_t *q;

    q = ctx->q;
    scope = epro_fr_scope(q, (int32_t) (it - q->items), en->target);
    has = 0;

    if (scope == en->target) {
        /* the question holds the item: its answers in this instance */

        r = epro_fr_match(en, ctx->inst[q->items[scope].depth], &has);

    } else {
        for (c = en->target; c != scope; c = q->items[c].parent) {
            chain[q->items[c].depth] = c;
        }

        /* the search goes down the levels of the item's own path: kept */

        from = (scope >= 0) ? q->items[scope].depth + 1 : 0;
        n = q->items[en->target].depth + 1 - from;

        memcpy(&saved[from], &ctx->inst[from], n * sizeof(epro_node_t *));

        r = epro_fr_search(ctx, en,
                           (scope >= 0) ? ctx->inst[from - 1] : NULL,
                           scope, chain, depth, &has);

        memcpy(&ctx->inst[from], &saved[from], n * sizeof(epro_node_t *));
    }

    if (en->op == EPRO_FHIR_EXISTS) {
        return has == (en->answer.num != 0);
    }

    return r;
}


/*
 * The items of the next level of the question's ancestors below the
 * instance e of item up (-1: the response): a group's items, a
 * question's answers' items.  Each one enabled is looked into.
 */

static int
epro_fr_search(epro_fr_ctx_t *ctx, const epro_fhir_enable_t *en,
    const epro_node_t *e, int32_t up, const int32_t *chain, unsigned depth,
    int *has)
{
    int32_t                  k;
    const char              *id;
    const epro_node_t       *list, *a, *m;
    const epro_fhir_item_t  *it;

    k = (up >= 0) ? (int32_t) ctx->q->items[up].depth + 1 : 0;
    it = &ctx->q->items[chain[k]];
    a = NULL;

    if (up < 0) {
        list = ctx->root;

    } else if (ctx->q->items[up].type == EPRO_FHIR_GROUP) {
        list = epro_fr_list(e, "item");

    } else {
        a = epro_fr_list(e, "answer");
        a = a ? epro_node_child(a) : NULL;
        list = a ? epro_fr_list(a, "item") : NULL;
    }

    for ( ;; ) {
        for (m = list ? epro_node_child(list) : NULL;
             m;
             m = epro_node_next(m))
        {
            id = (epro_node_type(m) == EPRO_NODE_OBJECT)
                 ? epro_node_string(epro_node_member(m, "linkId")) : NULL;

            if (id == NULL || strcmp(id, it->link_id.data) != 0) {
                continue;
            }

            ctx->inst[k] = m;

            if (it->nenable && !epro_fr_enabled(ctx, it, depth + 1)) {
                continue;
            }

            if ((chain[k] == en->target) ? epro_fr_match(en, m, has)
                : epro_fr_search(ctx, en, m, chain[k], chain, depth, has))
            {
                return 1;
            }
        }

        if (a == NULL || (a = epro_node_next(a)) == NULL) {
            return 0;
        }

        list = epro_fr_list(a, "item");
    }
}


/* the answers of one instance of the question against the condition */

static int
epro_fr_match(const epro_fhir_enable_t *en, const epro_node_t *e, int *has)
{
    int                 c, r, count;
    epro_fhir_kind_e    kind;
    epro_fhir_value_t   v;
    const epro_node_t  *list, *a, *vn;

    list = epro_fr_list(e, "answer");

    for (a = list ? epro_node_child(list) : NULL; a; a = epro_node_next(a)) {
        if (epro_node_type(a) != EPRO_NODE_OBJECT) {
            continue;
        }

        *has = 1;
        vn = epro_fr_value_node(a, &kind, &count);

        /* the walk may not have checked it yet: held to R4 here */

        if (vn == NULL || epro_fhir_value(vn, kind, &v, NULL) != NULL) {
            continue;
        }

        /* an expected Coding without a system takes the code of any */

        if (kind == EPRO_FV_CODING && en->answer.kind == EPRO_FV_CODING
            && en->answer.system.data == NULL)
        {
            v.system.data = NULL;
            v.system.len = 0;
        }

        c = epro_fhir_compare(&v, &en->answer);

        switch (en->op) {

        case EPRO_FHIR_EQ:
            r = (c == 0);
            break;

        case EPRO_FHIR_NE:
            r = (c == -1 || c == 1 || c == EPRO_FHIR_UNEQUAL);
            break;

        case EPRO_FHIR_GT:
            r = (c == 1);
            break;

        case EPRO_FHIR_LT:
            r = (c == -1);
            break;

        case EPRO_FHIR_GE:
            r = (c == 0 || c == 1);
            break;

        case EPRO_FHIR_LE:
            r = (c == 0 || c == -1);
            break;

        default:
            r = 0;
            break;
        }

        if (r) {
            return 1;
        }
    }

    return 0;
}


static const epro_node_t *
epro_fr_list(const epro_node_t *n, const char *name)
{
    const epro_node_t  *m;

    if (n == NULL || epro_node_type(n) != EPRO_NODE_OBJECT) {
        return NULL;
    }

    m = epro_node_member(n, name);

    return (m && epro_node_type(m) == EPRO_NODE_ARRAY) ? m : NULL;
}


/* the innermost item holding both (or being one of them), -1: none */

static int32_t
epro_fr_scope(const epro_fhir_q_t *q, int32_t a, int32_t b)
{
    while (a != b) {
        if (a < 0 || b < 0) {
            return -1;
        }

        if (q->items[a].depth >= q->items[b].depth) {
            a = q->items[a].parent;

        } else {
            b = q->items[b].parent;
        }
    }

    return a;
}


/* the submission's columns: id, subject, collected, study, visit */

static int
epro_fr_map(epro_fr_ctx_t *ctx, const epro_node_t **top)
{
    char                *name;
    size_t               len, slen, vlen;
    const char          *s, *sys, *val;
    epro_submission_t   *sub;
    epro_fhir_request_t *req;
    const epro_node_t   *n, *e, *v;

    req = ctx->req;
    sub = &req->sub;

    /* the id: a UUID as sent, or a v5 UUID of "system|value" */

    n = top[EPRO_FR_IDENTIFIER];
    v = n ? epro_node_member(n, "value") : NULL;

    if (v) {
        val = epro_node_string(v);
        vlen = strlen(val);
        s = val;
        len = vlen;

        if (len > 9 && memcmp(s, "urn:uuid:", 9) == 0) {
            s += 9;
            len -= 9;
        }

        if (epro_uuid_parse(sub->id, s, len) != 0) {
            e = epro_node_member(n, "system");
            sys = e ? epro_node_string(e) : "";
            slen = strlen(sys);

            name = ctx->a->alloc(ctx->a->ctx, slen + 1 + vlen);
            if (name == NULL) {
                return EPRO_NOMEM;
            }

            memcpy(name, sys, slen);
            name[slen] = '|';
            memcpy(name + slen + 1, val, vlen);

            if (epro_uuid_v5(sub->id, EPRO_FHIR_NAMESPACE, name,
                             slen + 1 + vlen)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }
    }

    /* the subject: Patient/<id>, else its identifier's value */

    n = top[EPRO_FR_SUBJECT];

    if (n && epro_fr_ref_id(&sub->subject, n, "Patient") != EPRO_OK) {
        v = epro_node_member(n, "identifier");
        v = v ? epro_node_member(v, "value") : NULL;

        if (v) {
            sub->subject.data = epro_node_string(v);
            sub->subject.len = strlen(sub->subject.data);
        }
    }

    if (sub->subject.data == NULL) {
        if (epro_fr_issue(ctx, 0, "required", ctx->base, "subject",
                          "a subject (a Patient reference or an "
                          "identifier) is required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

    } else if (epro_utf8_chars(sub->subject.data, sub->subject.len)
               > EPRO_MAX_FIELD_CHARS)
    {
        if (epro_fr_issue(ctx, 0, "value", ctx->base, "subject", "the "
                          "subject's id is longer than %d characters",
                          EPRO_MAX_FIELD_CHARS) != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    /* collected: a time and an offset, RFC 3339 */

    n = top[EPRO_FR_AUTHORED];

    if (n == NULL) {
        if (epro_fr_issue(ctx, 0, "required", ctx->base, "authored",
                          "authored is required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

    } else {
        s = epro_node_string(n);
        len = strlen(s);

        if (len > EPRO_TIME_LEN || epro_rfc3339_valid(s, len) != 0) {
            if (epro_fr_issue(ctx, 0, "value", ctx->base, "authored",
                              "must have a time of day and an offset "
                              "(RFC 3339)") != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

        } else {
            memcpy(sub->collected, s, len + 1);
        }
    }

    /* the visit: Encounter/<id>; the study: workflow-researchStudy */

    n = top[EPRO_FR_ENCOUNTER];

    if (n) {
        (void) epro_fr_ref_id(&sub->visit, n, "Encounter");
    }

    n = top[EPRO_FR_EXTENSION];

    for (e = n ? epro_node_child(n) : NULL; e; e = epro_node_next(e)) {
        v = epro_node_member(e, "valueReference");

        if (v && strcmp(epro_node_string(epro_node_member(e, "url")),
                        EPRO_EXT_STUDY) == 0
            && epro_fr_ref_id(&sub->study, v, "ResearchStudy") == EPRO_OK)
        {
            break;
        }
    }

    return EPRO_OK;
}


/* "Patient/<id>", maybe after a base url or before "/_history/..." */

static int
epro_fr_ref_id(epro_str_t *out, const epro_node_t *ref, const char *type)
{
    size_t              n, k;
    const char         *s, *p;
    const epro_node_t  *v;

    v = epro_node_member(ref, "reference");
    s = v ? epro_node_string(v) : NULL;

    if (s == NULL) {
        return EPRO_ERROR;
    }

    n = strlen(type);

    for (p = strstr(s, type); p; p = strstr(p + 1, type)) {
        if ((p == s || p[-1] == '/') && p[n] == '/') {
            break;
        }
    }

    if (p == NULL) {
        return EPRO_ERROR;
    }

    p += n + 1;

    for (k = 0; p[k] && p[k] != '/'; k++) {
        if (!((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z')
              || (p[k] >= '0' && p[k] <= '9') || p[k] == '-'
              || p[k] == '.'))
        {
            return EPRO_ERROR;
        }
    }

    if (k == 0 || k > 64) {
        return EPRO_ERROR;
    }

    out->data = p;
    out->len = k;

    return EPRO_OK;
}


/* {"key": value or [values]} in the Questionnaire's order */

static int
epro_fr_answers_json(epro_fr_ctx_t *ctx)
{
    size_t                   i, n;
    int32_t                  r;
    epro_buf_t               b;
    epro_alloc_t            *a;
    const epro_fhir_item_t  *it;

    a = ctx->a;
    memset(&b, 0, sizeof(epro_buf_t));

    if (epro_buf_reserve(&b, 64 + ctx->nrecs * 32, a) != EPRO_OK
        || epro_buf_add(&b, "{", 1, a) != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    for (i = 0, n = 0; i < ctx->q->nitems; i++) {
        if (ctx->head[i] < 0) {
            continue;
        }

        it = &ctx->q->items[i];

        if ((n++ && epro_buf_add(&b, ",", 1, a) != EPRO_OK)
            || epro_buf_add_json_string(&b, it->key.data, it->key.len, a)
               != EPRO_OK
            || epro_buf_add(&b, it->multi ? ":[" : ":", it->multi ? 2 : 1,
                            a) != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        for (r = ctx->head[i]; r >= 0; r = ctx->recs[r].next) {
            if ((r != ctx->head[i] && epro_buf_add(&b, ",", 1, a) != EPRO_OK)
                || epro_fr_value_json(&b, &ctx->recs[r].value, a) != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }

        if (it->multi && epro_buf_add(&b, "]", 1, a) != EPRO_OK) {
            return EPRO_NOMEM;
        }
    }

    if (epro_buf_add(&b, "}", 1, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    ctx->req->answers.data = b.data;
    ctx->req->answers.len = b.len;

    return EPRO_OK;
}


static int
epro_fr_value_json(epro_buf_t *b, const epro_fhir_value_t *v,
    epro_alloc_t *a)
{
    char         num[40];
    const char  *s;

    switch (v->kind) {

    case EPRO_FV_BOOLEAN:
        s = v->num ? "true" : "false";
        return epro_buf_add(b, s, strlen(s), a);

    case EPRO_FV_DECIMAL:
    case EPRO_FV_INTEGER:
    case EPRO_FV_QUANTITY:
        /* the text as sent: jsonb keeps "1.50" as 1.50, a double cannot */

        if (v->text.data) {
            return epro_buf_add(b, v->text.data, v->text.len, a);
        }

        if (v->kind == EPRO_FV_QUANTITY) {
            /* a Quantity without a value (a unit alone, say) */
            return epro_buf_add(b, "null", 4, a);
        }

        s = epro_fr_number(num, v->num);
        return epro_buf_add(b, s, strlen(s), a);

    default:
        if (v->str.data == NULL) {
            return epro_buf_add(b, "null", 4, a);
        }

        return epro_buf_add_json_string(b, v->str.data, v->str.len, a);
    }
}


int
epro_fhir_outcome_json(epro_buf_t *b, const epro_fhir_request_t *req,
    epro_alloc_t *a)
{
    int                       rc;
    char                      msg[120];
    size_t                    i;
    const epro_fhir_issue_t  *is;

    rc = epro_fr_add(b, "{\"resourceType\":\"OperationOutcome\","
                        "\"issue\":[", a);

    if (rc == EPRO_OK && req->nissues == 0) {
        rc = epro_fr_add(b, "{\"severity\":\"information\",\"code\":"
                            "\"informational\",\"diagnostics\":"
                            "\"accepted\"}", a);
    }

    for (i = 0; i < req->nissues && rc == EPRO_OK; i++) {
        is = &req->issues[i];

        rc = epro_fr_add(b, i ? ",{\"severity\":\"error\",\"code\":"
                              : "{\"severity\":\"error\",\"code\":", a);

        if (rc == EPRO_OK) {
            rc = epro_buf_add_json_string(b, is->code, strlen(is->code), a);
        }

        if (rc == EPRO_OK) {
            rc = epro_fr_add(b, ",\"diagnostics\":", a);
        }

        if (rc == EPRO_OK) {
            rc = epro_buf_add_json_string(b, is->message,
                                          strlen(is->message), a);
        }

        if (rc == EPRO_OK && is->expression[0]) {
            rc = epro_fr_add(b, ",\"expression\":[", a);

            if (rc == EPRO_OK) {
                rc = epro_buf_add_json_string(b, is->expression,
                                              strlen(is->expression), a);
            }

            if (rc == EPRO_OK) {
                rc = epro_fr_add(b, "]", a);
            }
        }

        if (rc == EPRO_OK) {
            rc = epro_fr_add(b, "}", a);
        }
    }

    if (rc == EPRO_OK && req->truncated) {
        snprintf(msg, sizeof(msg), ",{\"severity\":\"information\","
                 "\"code\":\"too-costly\",\"diagnostics\":\"%lu more "
                 "issues were found\"}",
                 (unsigned long) (req->nfound - req->nissues));
        rc = epro_fr_add(b, msg, a);
    }

    if (rc == EPRO_OK) {
        rc = epro_fr_add(b, "]}\n", a);
    }

    return rc;
}


static int
epro_fr_add(epro_buf_t *b, const char *s, epro_alloc_t *a)
{
    return epro_buf_add(b, s, strlen(s), a);
}


static int
epro_fr_issue(epro_fr_ctx_t *ctx, int structure, const char *code,
    const char *expr, const char *member, const char *fmt, ...)
{
    int                  n;
    char                 msg[512], sub[EPRO_FHIR_PATH_MAX];
    size_t               elen;
    va_list              args;
    epro_fhir_issue_t   *is;
    epro_fhir_request_t *req;

    req = ctx->req;
    req->nfound++;
    req->nstructure += structure;

    if (req->nissues == EPRO_MAX_ERRORS) {
        req->truncated = 1;
        return EPRO_OK;
    }

    va_start(args, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    if (n < 0) {
        return EPRO_NOMEM;
    }

    if ((size_t) n >= sizeof(msg)) {
        n = sizeof(msg) - 1;
    }

    /* the paths of elements are made only for an issue: most have none */

    if (member) {
        epro_fr_path(sub, "%s.%s", expr, member);
        expr = sub;
    }

    elen = strlen(expr);
    is = &req->issues[req->nissues];

    is->expression = ctx->a->alloc(ctx->a->ctx, elen + 1 + n + 1);
    if (is->expression == NULL) {
        return EPRO_NOMEM;
    }

    memcpy(is->expression, expr, elen + 1);
    is->message = is->expression + elen + 1;
    memcpy(is->message, msg, n + 1);
    is->code = code;

    req->nissues++;

    return EPRO_OK;
}


/* a number as written if known, for a message; buf: EPRO_FR_NUM_MAX */

static const char *
epro_fr_value_number(char *buf, const epro_fhir_value_t *v)
{
    if (v->text.data == NULL) {
        return epro_fr_number(buf, v->num);
    }

    snprintf(buf, EPRO_FR_NUM_MAX, "%.*s", (int) v->text.len, v->text.data);

    return buf;
}


/* the shortest text that reads back as the same double */

static const char *
epro_fr_number(char *buf, double v)
{
    int  prec;

    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, 40, "%.0f", v);
        return buf;
    }

    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);

        if (strtod(buf, NULL) == v) {
            return buf;
        }
    }

    snprintf(buf, 40, "%.17g", v);

    return buf;
}


/* a FHIRPath expression, cut at EPRO_FHIR_PATH_MAX */

static void
epro_fr_path(char *out, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(out, EPRO_FHIR_PATH_MAX, fmt, args);
    va_end(args);
}


/* base "." name, and base "." name "[" k "]": no printf on the way */

static void
epro_fr_join(char *out, const char *base, const char *name)
{
    size_t  n, k;

    n = strlen(base);
    k = strlen(name);

    if (n + 1 + k >= EPRO_FHIR_PATH_MAX) {
        epro_fr_path(out, "%s.%s", base, name);
        return;
    }

    memcpy(out, base, n);
    out[n] = '.';
    memcpy(out + n + 1, name, k + 1);
}


static void
epro_fr_index(char *out, const char *base, const char *name, size_t k)
{
    char    digits[24];
    size_t  n, len, d;

    d = sizeof(digits);

    do {
        digits[--d] = (char) ('0' + k % 10);
        k /= 10;
    } while (k);

    n = strlen(base);
    len = strlen(name);

    if (n + 1 + len + 1 + (sizeof(digits) - d) + 1 >= EPRO_FHIR_PATH_MAX) {
        epro_fr_path(out, "%s.%s[%.*s]", base, name,
                     (int) (sizeof(digits) - d), digits + d);
        return;
    }

    memcpy(out, base, n);
    out[n++] = '.';
    memcpy(out + n, name, len);
    n += len;
    out[n++] = '[';
    memcpy(out + n, digits + d, sizeof(digits) - d);
    n += sizeof(digits) - d;
    out[n++] = ']';
    out[n] = '\0';
}
