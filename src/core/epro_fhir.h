
/*
 * FHIR R4 intake: Questionnaires loaded and indexed once (epro_fhir_q.c),
 * QuestionnaireResponses checked against them and mapped to a submission
 * (epro_fhir.c), SHA-1 and name-based UUIDs (epro_sha1.c).
 *
 * Plain C like the rest of the core: no nginx header, JSON through
 * epro_tree.h only, every allocation from the caller's epro_alloc_t.
 * The Questionnaires go to a long-lived allocator (the configuration
 * pool), each response to a short one (the request pool).  The body is
 * parsed where it lies: it need not end with a NUL and is never changed.
 */


#ifndef _EPRO_FHIR_H_INCLUDED_
#define _EPRO_FHIR_H_INCLUDED_


#include "epro_core.h"



/*
 * The flattened answers use it between the linkIds of an item's
 * ancestors and its own: {"group1.q2": 3}.  A linkId may hold a "." too;
 * the key is unambiguous only with the Questionnaire at hand.
 */
#define EPRO_FHIR_KEY_SEP       '.'

/*
 * The namespace of the name-based (v5) UUIDs made from an identifier
 * that is not a UUID: uuid5(EPRO_FHIR_NAMESPACE, system "|" value).
 * Fixed for ever: changing it changes every stored id.
 */
#define EPRO_FHIR_NAMESPACE     "99a8785b-07a4-4684-87a3-74f8c93bbe31"

#define EPRO_FHIR_PATH_MAX      320

/* items nest two JSON levels at least: no item is deeper than this */
#define EPRO_FHIR_MAX_LEVELS    (EPRO_MAX_DEPTH / 2 + 1)
#define EPRO_FHIR_MAX_LINKID    255


typedef enum {
    EPRO_FHIR_GROUP = 0,
    EPRO_FHIR_DISPLAY,
    EPRO_FHIR_BOOLEAN,
    EPRO_FHIR_DECIMAL,
    EPRO_FHIR_INTEGER,
    EPRO_FHIR_DATE,
    EPRO_FHIR_DATETIME,
    EPRO_FHIR_TIME,
    EPRO_FHIR_STRING,
    EPRO_FHIR_TEXT,
    EPRO_FHIR_URL,
    EPRO_FHIR_CHOICE,
    EPRO_FHIR_OPEN_CHOICE,
    EPRO_FHIR_QUANTITY
} epro_fhir_type_e;


/* the kinds of a value[x], answer[x] or an extension's value */
typedef enum {
    EPRO_FV_NONE = 0,
    EPRO_FV_BOOLEAN,
    EPRO_FV_DECIMAL,
    EPRO_FV_INTEGER,
    EPRO_FV_DATE,
    EPRO_FV_DATETIME,
    EPRO_FV_TIME,
    EPRO_FV_STRING,
    EPRO_FV_URI,
    EPRO_FV_CODING,
    EPRO_FV_QUANTITY,
    EPRO_FV_ATTACHMENT,
    EPRO_FV_REFERENCE
} epro_fhir_kind_e;


typedef enum {
    EPRO_FHIR_EXISTS = 0,
    EPRO_FHIR_EQ,
    EPRO_FHIR_NE,
    EPRO_FHIR_GT,
    EPRO_FHIR_LT,
    EPRO_FHIR_GE,
    EPRO_FHIR_LE
} epro_fhir_op_e;


typedef struct {
    epro_fhir_kind_e    kind;
    epro_str_t          str;        /* text, date, time, uri; a code */
    epro_str_t          system;     /* a Coding's; data NULL: none */
    epro_str_t          text;       /* a number as written, or NULL */
    double              num;        /* number, boolean 0/1, quantity */
} epro_fhir_value_t;


typedef struct {
    epro_fhir_value_t   value;
    double              weight;     /* ordinalValue or itemWeight */
    unsigned            has_weight:1;
} epro_fhir_option_t;


typedef struct {
    epro_str_t          question;
    int32_t             target;     /* the item it names */
    epro_fhir_op_e      op;
    epro_fhir_value_t   answer;
} epro_fhir_enable_t;


typedef struct {
    epro_str_t          link_id;
    epro_str_t          text;       /* data NULL: none */
    epro_str_t          key;        /* the flattened answers' key */
    epro_fhir_type_e    type;
    int32_t             parent;     /* -1: at the top */
    int32_t             first;      /* first child, -1: none */
    int32_t             next;       /* next sibling, -1: none */
    uint32_t            pos;        /* among its siblings */
    uint32_t            depth;      /* 0 at the top */
    epro_fhir_option_t *options;
    size_t              noptions;
    epro_fhir_enable_t *enable;
    size_t              nenable;
    epro_fhir_value_t   min;        /* kind EPRO_FV_NONE: none */
    epro_fhir_value_t   max;
    size_t              max_length; /* characters, 0: no limit */
    int                 max_places; /* -1: no limit */
    unsigned            required:1;
    unsigned            repeats:1;
    unsigned            read_only:1;
    unsigned            enable_any:1;
    unsigned            multi:1;    /* it or an ancestor repeats */
} epro_fhir_item_t;


typedef struct {
    epro_str_t          url;
    epro_str_t          version;    /* data NULL: none */
    epro_str_t          canonical;  /* url "|" version, or url */
    epro_fhir_item_t   *items;      /* depth first, in document order */
    size_t              nitems;
    int32_t             first;      /* the first top-level item */
    int32_t             total;      /* the calculated total, -1: none */
    uint32_t           *index;      /* item + 1 by hash of linkId */
    size_t              mask;
} epro_fhir_q_t;


typedef struct {
    epro_fhir_q_t     **list;
    size_t              n;
    size_t              cap;
    uint32_t           *index;      /* key + 1 by hash of the key */
    size_t              mask;
    epro_str_t         *keys;       /* canonicals, then bare urls */
    uint32_t           *key_q;      /* the Questionnaire of each key */
    size_t              nkeys;
} epro_fhir_set_t;


/* one problem found in a response, for an OperationOutcome issue */
typedef struct {
    const char         *code;       /* a FHIR issue-type code, static */
    char               *expression; /* FHIRPath, "" for none */
    char               *message;
} epro_fhir_issue_t;


typedef struct epro_fhir_bundle_s  epro_fhir_bundle_t;
struct epro_node_s;


typedef struct {
    /* in */
    const epro_fhir_set_t   *set;
    epro_fhir_bundle_t      *bundle;    /* NULL: a Bundle is refused */

    /* out */
    int                      status;    /* EPRO_OK, 400, 413 or 422 */
    const char              *base;      /* "QuestionnaireResponse" or
                                           "Bundle.entry[3].resource" */
    const epro_fhir_q_t     *questionnaire;

    /*
     * The mapping: id ("" for the glue to generate), study (the
     * workflow-researchStudy extension), site (never, data NULL),
     * subject, visit (the encounter), instrument (the canonical as sent),
     * collected (authored), payload (the whole body).  Absent: data NULL.
     */
    epro_submission_t        sub;
    epro_str_t               fhir_status;
    epro_str_t               answers;   /* a JSON object, on EPRO_OK */
    double                   score;
    unsigned                 has_score:1;

    /* a QuestionnaireResponse body's tree, until the allocator's memory
     * goes (epro_fhir_resource_head() finds the members by it) */
    const struct epro_node_s *root;

    epro_fhir_issue_t        issues[EPRO_MAX_ERRORS];
    size_t                   nissues;
    size_t                   nfound;    /* all found, beyond the cap too */
    size_t                   nstructure;    /* of them, 400 ones */
    unsigned                 truncated:1;
} epro_fhir_request_t;


/*
 * Adds the Questionnaires of a JSON text (one Questionnaire or a Bundle
 * of them in entry[].resource) to set, which starts zeroed.  On an error
 * err gets "/item/3/linkId: ..." and EPRO_ERROR (or EPRO_NOMEM) is
 * returned.  The text may be freed after; what is kept comes from a.
 */
int epro_fhir_load(epro_fhir_set_t *set, const char *text, size_t len,
    char *err, size_t errlen, epro_alloc_t *a);

/* by "url|version" or "url" (the last loaded of that url) */
const epro_fhir_q_t *epro_fhir_find(const epro_fhir_set_t *set,
    const char *canonical, size_t len);
const epro_fhir_item_t *epro_fhir_item(const epro_fhir_q_t *q,
    const char *link_id, size_t len);

/*
 * Checks a QuestionnaireResponse and maps it.  EPRO_OK; EPRO_ERROR with
 * req->status EPRO_STATUS_BAD_JSON (JSON or R4 structure) or
 * EPRO_STATUS_INVALID (the Questionnaire's rules) and every problem in
 * req->issues; EPRO_NOMEM.
 *
 * Set req->set first.  Required items are checked when the status is
 * completed or amended.  The mapping also requires what a row needs:
 * questionnaire (a known canonical), subject ("Patient/<id>", maybe
 * after a base url, or an identifier's value, 1 to 64 characters) and
 * authored (a time of day and an offset).  The id is identifier.value
 * if that is a UUID or "urn:uuid:" one, lowercase; else the v5 UUID of
 * identifier.system "|" identifier.value in EPRO_FHIR_NAMESPACE (system
 * "" if absent); "" without an identifier value.  Strings in req point
 * into the tree, allocated from a: they live as long as a's memory.
 */
int epro_fhir_parse(epro_fhir_request_t *req, const char *body, size_t len,
    epro_alloc_t *a);

/*
 * The same check of a QuestionnaireResponse already in a tree (root),
 * whose text as sent is payload; base starts every issue's expression
 * and must live as long as req.  Resets req but its set and bundle.
 */
int epro_fhir_check_node(epro_fhir_request_t *req,
    const struct epro_node_s *root, const char *payload, size_t plen,
    const char *base, epro_alloc_t *a);


/*
 * epro_fhir_bundle.c: a Bundle of type transaction or batch whose
 * entries POST QuestionnaireResponses.  With req->bundle set,
 * epro_fhir_parse() takes a Bundle body too: then bundle->found is 1,
 * the Bundle's own problems are req's issues (status 400, or 413 for
 * more than max_entries entries: EPRO_ERROR), and each entry is checked
 * and mapped on its own in entries[i].req by epro_fhir_check_node(),
 * with "Bundle.entry[i].resource" as its base; its payload is the
 * entry's resource as sent.  EPRO_OK says only that the Bundle itself
 * is right: each entry has its own status and issues (an entry's
 * request, fullUrl or resource type are its 400 issues).
 */

#define EPRO_STATUS_TOO_MANY    413

typedef struct {
    epro_fhir_request_t      req;
    epro_str_t               full_url;  /* data NULL: none */
} epro_fhir_entry_t;

struct epro_fhir_bundle_s {
    /* in */
    size_t                   max_entries;

    /* out */
    unsigned                 found:1;   /* the body was a Bundle */
    unsigned                 batch:1;   /* 0: a transaction */
    epro_fhir_entry_t       *entries;
    size_t                   nentries;
};

int epro_fhir_bundle_check(epro_fhir_request_t *req,
    const struct epro_node_s *root, epro_alloc_t *a);

/*
 * A transaction refused as a whole: every entry's issues (and their
 * counts) added to req's, which then has status 400 if one of them is
 * about structure, else 422.
 */
int epro_fhir_bundle_merge(epro_fhir_request_t *req,
    const epro_fhir_bundle_t *bundle, epro_alloc_t *a);

/* one entry of a transaction-response or batch-response Bundle */
typedef struct {
    int                      status;    /* 201, 200, 400, 413, 422... */
    const char              *id;        /* the location's id, or NULL */
    const char              *modified;  /* lastModified (201), or NULL */
    epro_str_t               outcome;   /* an OperationOutcome, or NULL */
} epro_fhir_reply_entry_t;

int epro_fhir_bundle_response(epro_buf_t *b, int batch,
    const epro_fhir_reply_entry_t *e, size_t n, epro_alloc_t *a);


/* an OperationOutcome of req's issues (an informational one if none) */
int epro_fhir_outcome_json(epro_buf_t *b, const epro_fhir_request_t *req,
    epro_alloc_t *a);


/* SHA-1 (RFC 3174) and name-based UUIDs (RFC 4122 version 5) */

typedef struct {
    uint32_t            h[5];
    uint64_t            len;
    unsigned char       buf[64];
} epro_sha1_t;

void epro_sha1_init(epro_sha1_t *ctx);
void epro_sha1_update(epro_sha1_t *ctx, const void *data, size_t len);
void epro_sha1_final(epro_sha1_t *ctx, unsigned char out[20]);

/* ns: a UUID in text; out gets the lowercase UUID and a NUL */
int epro_uuid_v5(char *out, const char *ns, const char *name, size_t len);


/* shared by epro_fhir_q.c and epro_fhir.c */

typedef enum {
    EPRO_FP_STRING = 0,
    EPRO_FP_URI,
    EPRO_FP_CODE,
    EPRO_FP_ID,
    EPRO_FP_DATETIME,
    EPRO_FP_DATE,
    EPRO_FP_TIME,
    EPRO_FP_BOOLEAN,
    EPRO_FP_DECIMAL,
    EPRO_FP_INTEGER,
    EPRO_FP_INSTANT,
    EPRO_FP_UNSIGNED,
    EPRO_FP_BASE64,
    EPRO_FP_OBJECT,
    EPRO_FP_ARRAY
} epro_fhir_prim_e;

/* compare: ordered -1, 0, 1; or one of these */
#define EPRO_FHIR_UNEQUAL       2
#define EPRO_FHIR_INCOMPARABLE  3

epro_fhir_kind_e epro_fhir_kind(const char *key, const char *prefix);
struct epro_node_s;

const char *epro_fhir_value(const struct epro_node_s *node,
    epro_fhir_kind_e kind, epro_fhir_value_t *v, const char **member);
int epro_fhir_read(const struct epro_node_s *node, epro_fhir_kind_e kind,
    epro_fhir_value_t *v);
int epro_fhir_compare(const epro_fhir_value_t *a,
    const epro_fhir_value_t *b);
int epro_fhir_datetime_valid(const char *s, size_t len);
size_t epro_fhir_places_text(const char *s, size_t len);
const char *epro_fhir_primitive(const struct epro_node_s *n,
    epro_fhir_prim_e p);
const char *epro_fhir_extensions(const struct epro_node_s *n);
int epro_fhir_name(const char *const *names, const char *key);
size_t epro_fhir_places(double v);


/*
 * epro_fhir_out.c: what the nginx glue sends back and adds after the
 * check.  epro_fhir_issue_add copies its strings; forgive_unknown drops
 * the issue of a Questionnaire not known here (1: none is left, the
 * response is accepted); outcome_one is an OperationOutcome of one
 * issue; resource_head and resource_json give the stored resource (see
 * there); number_text writes at most EPRO_FHIR_NUMBER_LEN bytes with the
 * NUL.
 */

#define EPRO_FHIR_NUMBER_LEN    40
#define EPRO_FHIR_RUNS          5
#define EPRO_FHIR_RESOURCE_END  "}\n"

typedef struct {
    epro_str_t  run[EPRO_FHIR_RUNS];  /* kept members, as sent in the body */
    size_t      nruns;
    size_t      at;                   /* ,"lastUpdated":"..." in the head */
    size_t      n;
} epro_fhir_parts_t;

int epro_fhir_issue_add(epro_fhir_request_t *req, const char *code,
    const char *expression, const char *message, epro_alloc_t *a);
int epro_fhir_forgive_unknown(epro_fhir_request_t *req);
int epro_fhir_outcome_one(epro_buf_t *b, const char *severity,
    const char *code, const char *diagnostics, epro_alloc_t *a);
int epro_fhir_resource_head(epro_buf_t *b, const char *body, size_t len,
    const struct epro_node_s *root, const char *id, const char *updated,
    epro_fhir_parts_t *parts, epro_alloc_t *a);
int epro_fhir_resource_json(epro_buf_t *b, const char *body, size_t len,
    const struct epro_node_s *root, const char *id, const char *updated,
    epro_fhir_parts_t *parts, epro_alloc_t *a);
size_t epro_fhir_number_text(char *out, double v);

/* spans of a text that passed the strict check (see epro_fhir_out.c) */
int epro_fhir_json_member(const char *obj, size_t len, const char *name,
    epro_str_t *val);
size_t epro_fhir_json_resources(const char *body, size_t len,
    epro_str_t *out, size_t n);


#endif /* _EPRO_FHIR_H_INCLUDED_ */
