
/*
 * FHIR R4 Bundles of type transaction and batch whose entries POST
 * QuestionnaireResponses: the Bundle's own elements, each entry's
 * request and fullUrl, and each entry's resource by the same check as a
 * lone one (epro_fhir_check_node), with its own issues; then the
 * transaction-response or batch-response Bundle.
 *
 * Each entry keeps its resource's text exactly as sent as its payload:
 * its node's span in the body (epro_node_span).
 */


#include <stdio.h>
#include <string.h>

#include "epro_fhir.h"
#include "epro_tree.h"


#define EPRO_FB_BASE_LEN  48    /* "Bundle.entry[<n>].resource" */


enum {
    EPRO_FB_RESOURCE_TYPE = 0,
    EPRO_FB_ID,
    EPRO_FB_META,
    EPRO_FB_IDENTIFIER,
    EPRO_FB_TYPE,
    EPRO_FB_TIMESTAMP,
    EPRO_FB_ENTRY,
    EPRO_FB_NTOP
};

static const char *const  epro_fb_top[] = {
    "resourceType", "id", "meta", "identifier", "type", "timestamp",
    "entry", NULL
};

static const epro_fhir_prim_e  epro_fb_top_types[] = {
    EPRO_FP_STRING, EPRO_FP_ID, EPRO_FP_OBJECT, EPRO_FP_OBJECT,
    EPRO_FP_CODE, EPRO_FP_DATETIME, EPRO_FP_ARRAY
};


enum {
    EPRO_FB_E_ID = 0,
    EPRO_FB_E_EXTENSION,
    EPRO_FB_E_LINK,
    EPRO_FB_E_FULL_URL,
    EPRO_FB_E_RESOURCE,
    EPRO_FB_E_REQUEST,
    EPRO_FB_NENTRY
};

static const char *const  epro_fb_entry[] = {
    "id", "extension", "link", "fullUrl", "resource", "request", NULL
};

static const epro_fhir_prim_e  epro_fb_entry_types[] = {
    EPRO_FP_STRING, EPRO_FP_ARRAY, EPRO_FP_ARRAY, EPRO_FP_URI,
    EPRO_FP_OBJECT, EPRO_FP_OBJECT
};


enum {
    EPRO_FB_R_ID = 0,
    EPRO_FB_R_EXTENSION,
    EPRO_FB_R_METHOD,
    EPRO_FB_R_URL,
    EPRO_FB_R_IF_NONE_EXIST,
    EPRO_FB_NREQUEST
};

static const char *const  epro_fb_request_names[] = {
    "id", "extension", "method", "url", "ifNoneExist", NULL
};

static const epro_fhir_prim_e  epro_fb_request_types[] = {
    EPRO_FP_STRING, EPRO_FP_ARRAY, EPRO_FP_CODE, EPRO_FP_URI,
    EPRO_FP_STRING
};


typedef struct {
    int          status;
    const char  *text;
} epro_fb_status_t;

static const epro_fb_status_t  epro_fb_statuses[] = {
    { 200, "200 OK" },
    { 201, "201 Created" },
    { 400, "400 Bad Request" },
    { 403, "403 Forbidden" },
    { 413, "413 Content Too Large" },
    { 422, "422 Unprocessable Content" },
    { 0, "500 Internal Server Error" }
};


static int epro_fb_entry_check(epro_fhir_entry_t *en, const epro_node_t *e,
    size_t k, epro_alloc_t *a);
static int epro_fb_members(epro_fhir_request_t *req, const epro_node_t *n,
    const char *path, const char *const *names,
    const epro_fhir_prim_e *types, const epro_node_t **found,
    epro_alloc_t *a);
static int epro_fb_request(epro_fhir_request_t *req, const epro_node_t *n,
    const epro_node_t *resource, const char *path, epro_alloc_t *a);
static int epro_fb_if_none_exist(const char *s, const epro_node_t *resource);
static int epro_fb_full_url(const char *s);
static int epro_fb_issue(epro_fhir_request_t *req, epro_alloc_t *a,
    int structure,
    const char *code, const char *path, const char *member,
    const char *message);
static void epro_fb_done(epro_fhir_request_t *req);
static int epro_fb_add(epro_buf_t *b, const char *s, epro_alloc_t *a);


int
epro_fhir_bundle_check(epro_fhir_request_t *req, const epro_node_t *root,
    epro_alloc_t *a)
{
    int                  rc;
    char                 msg[96];
    size_t               k, n;
    const char          *s;
    epro_fhir_bundle_t  *bundle;
    const epro_node_t   *top[EPRO_FB_NTOP], *e;

    bundle = req->bundle;
    bundle->found = 1;
    bundle->batch = 0;
    bundle->entries = NULL;
    bundle->nentries = 0;

    req->base = "Bundle";

    rc = epro_fb_members(req, root, "Bundle", epro_fb_top, epro_fb_top_types,
                         top, a);
    if (rc != EPRO_OK) {
        return rc;
    }

    s = top[EPRO_FB_TYPE] ? epro_node_string(top[EPRO_FB_TYPE]) : NULL;

    if (s == NULL) {
        if (epro_node_member(root, "type") == NULL
            && epro_fb_issue(req, a, 1, "required", "Bundle.type", NULL,
                             "type is required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

    } else if (strcmp(s, "batch") == 0) {
        bundle->batch = 1;

    } else if (strcmp(s, "transaction") != 0) {
        if (epro_fb_issue(req, a, 1, "not-supported", "Bundle.type", NULL,
                          "only transaction and batch Bundles are taken "
                          "here") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    n = top[EPRO_FB_ENTRY] ? epro_node_count(top[EPRO_FB_ENTRY]) : 0;

    if (n > bundle->max_entries) {
        snprintf(msg, sizeof(msg), "more than %lu entries in one Bundle",
                 (unsigned long) bundle->max_entries);

        if (epro_fb_issue(req, a, 0, "too-costly", "Bundle.entry", NULL, msg)
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        req->status = EPRO_STATUS_TOO_MANY;

        return EPRO_ERROR;
    }

    if (req->nfound) {
        epro_fb_done(req);
        return EPRO_ERROR;
    }

    if (n == 0) {
        return EPRO_OK;
    }

    bundle->entries = a->alloc(a->ctx, n * sizeof(epro_fhir_entry_t));

    if (bundle->entries == NULL) {
        return EPRO_NOMEM;
    }

    memset(bundle->entries, 0, n * sizeof(epro_fhir_entry_t));

    bundle->nentries = n;

    for (k = 0, e = epro_node_child(top[EPRO_FB_ENTRY]); e;
         k++, e = epro_node_next(e))
    {
        bundle->entries[k].req.set = req->set;

        rc = epro_fb_entry_check(&bundle->entries[k], e, k, a);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    return EPRO_OK;
}


/* one entry: EPRO_OK (its own status says the rest) or EPRO_NOMEM */

static int
epro_fb_entry_check(epro_fhir_entry_t *en, const epro_node_t *e, size_t k,
    epro_alloc_t *a)
{
    int                   rc;
    char                 *base, path[EPRO_FB_BASE_LEN];
    size_t                len;
    const char           *s, *text;
    epro_fhir_request_t  *req;
    const epro_node_t    *m[EPRO_FB_NENTRY], *res, *t;

    req = &en->req;

    base = a->alloc(a->ctx, EPRO_FB_BASE_LEN);
    if (base == NULL) {
        return EPRO_NOMEM;
    }

    snprintf(path, sizeof(path), "Bundle.entry[%lu]", (unsigned long) k);
    snprintf(base, EPRO_FB_BASE_LEN, "Bundle.entry[%lu].resource",
             (unsigned long) k);

    req->base = base;

    if (epro_node_type(e) != EPRO_NODE_OBJECT) {
        rc = epro_fb_issue(req, a, 1, "structure", path, NULL,
                           "must be an object");
        epro_fb_done(req);
        return rc;
    }

    res = epro_node_member(e, "resource");
    t = (res && epro_node_type(res) == EPRO_NODE_OBJECT)
        ? epro_node_member(res, "resourceType") : NULL;
    s = t ? epro_node_string(t) : NULL;

    if (s && strcmp(s, "QuestionnaireResponse") == 0) {
        /* the resource's text as sent, where the tree has it */

        text = epro_node_span(res, &len);

        rc = epro_fhir_check_node(req, res, text, len, base, a);
        if (rc == EPRO_NOMEM) {
            return rc;
        }

    } else if (t) {
        if (epro_fb_issue(req, a, 1, "not-supported", base, "resourceType",
                          "only QuestionnaireResponse resources are taken "
                          "here") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    /* the entry's own elements: its issues come after the resource's */

    rc = epro_fb_members(req, e, path, epro_fb_entry, epro_fb_entry_types,
                         m, a);
    if (rc != EPRO_OK) {
        return rc;
    }

    if (m[EPRO_FB_E_RESOURCE] && t == NULL
        && epro_fb_issue(req, a, 1, "structure", base, NULL, "must be a "
                         "resource (with a resourceType)") != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    if (res == NULL
        && epro_fb_issue(req, a, 1, "required", base, NULL,
                         "resource is required") != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    if (m[EPRO_FB_E_FULL_URL]) {
        s = epro_node_string(m[EPRO_FB_E_FULL_URL]);

        if (epro_fb_full_url(s) != EPRO_OK) {
            if (epro_fb_issue(req, a, 1, "value", path, "fullUrl",
                              "must be urn:uuid:<uuid> or an absolute url")
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

        } else {
            en->full_url.data = s;
            en->full_url.len = strlen(s);
        }
    }

    if (m[EPRO_FB_E_REQUEST]) {
        rc = epro_fb_request(req, m[EPRO_FB_E_REQUEST],
                             epro_node_member(e, "resource"), path, a);
        if (rc != EPRO_OK) {
            return rc;
        }

    } else if (epro_node_member(e, "request") == NULL
               && epro_fb_issue(req, a, 1, "required", path, "request",
                                "request is required") != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    epro_fb_done(req);

    return EPRO_OK;
}


/* entry.request: POST to QuestionnaireResponse, maybe conditional */

static int
epro_fb_request(epro_fhir_request_t *req, const epro_node_t *n,
    const epro_node_t *resource, const char *path, epro_alloc_t *a)
{
    int                 rc;
    char                rpath[EPRO_FB_BASE_LEN + 8];
    const char         *s;
    const epro_node_t  *m[EPRO_FB_NREQUEST];

    snprintf(rpath, sizeof(rpath), "%s.request", path);

    rc = epro_fb_members(req, n, rpath, epro_fb_request_names,
                         epro_fb_request_types, m, a);
    if (rc != EPRO_OK) {
        return rc;
    }

    s = m[EPRO_FB_R_METHOD] ? epro_node_string(m[EPRO_FB_R_METHOD]) : NULL;

    if (s == NULL) {
        if (epro_node_member(n, "method") == NULL
            && epro_fb_issue(req, a, 1, "required", rpath, "method",
                             "method is required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

    } else if (strcmp(s, "POST") != 0
               && epro_fb_issue(req, a, 1, "not-supported", rpath, "method",
                                "only POST (create) is taken here")
                  != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    s = m[EPRO_FB_R_URL] ? epro_node_string(m[EPRO_FB_R_URL]) : NULL;

    if (s == NULL) {
        if (epro_node_member(n, "url") == NULL
            && epro_fb_issue(req, a, 1, "required", rpath, "url",
                             "url is required") != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

    } else if (strcmp(s, "QuestionnaireResponse") != 0
               && epro_fb_issue(req, a, 1, "not-supported", rpath, "url",
                                "must be QuestionnaireResponse") != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    s = m[EPRO_FB_R_IF_NONE_EXIST]
        ? epro_node_string(m[EPRO_FB_R_IF_NONE_EXIST]) : NULL;

    if (s && epro_fb_if_none_exist(s, resource) != EPRO_OK
        && epro_fb_issue(req, a, 1, "not-supported", rpath, "ifNoneExist",
                         "must be identifier=[system|]value naming the "
                         "resource's own identifier") != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    return EPRO_OK;
}


/*
 * "identifier=[system|]value", percent-encoded or not: the only
 * condition taken, as the id is made from the identifier anyway.  It
 * must name the resource's identifier, or it would mean another search.
 */

static int
epro_fb_if_none_exist(const char *s, const epro_node_t *resource)
{
    int                 c, hi, lo;
    char                want[512];
    size_t              n, slen;
    const char         *bar, *sys, *val;
    const epro_node_t  *id, *m;

    if (strncmp(s, "identifier=", 11) != 0) {
        return EPRO_ERROR;
    }

    for (s += 11, n = 0; *s; s++) {
        c = (unsigned char) *s;

        if (c == '%') {
            hi = (s[1] >= '0' && s[1] <= '9') ? s[1] - '0'
                 : ((s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'f')
                   ? (s[1] | 0x20) - 'a' + 10 : -1;
            lo = (hi < 0) ? -1
                 : (s[2] >= '0' && s[2] <= '9') ? s[2] - '0'
                 : ((s[2] | 0x20) >= 'a' && (s[2] | 0x20) <= 'f')
                   ? (s[2] | 0x20) - 'a' + 10 : -1;

            if (lo < 0) {
                return EPRO_ERROR;
            }

            c = hi * 16 + lo;
            s += 2;

        } else if (c == '&' || c == ',') {
            return EPRO_ERROR;
        }

        if (n + 1 >= sizeof(want) || c == 0) {
            return EPRO_ERROR;
        }

        want[n++] = (char) c;
    }

    want[n] = '\0';

    id = resource ? epro_node_member(resource, "identifier") : NULL;
    m = id ? epro_node_member(id, "value") : NULL;
    val = m ? epro_node_string(m) : NULL;

    if (val == NULL) {
        return EPRO_ERROR;
    }

    bar = strchr(want, '|');

    if (bar == NULL) {
        return strcmp(want, val) == 0 ? EPRO_OK : EPRO_ERROR;
    }

    m = epro_node_member(id, "system");
    sys = m ? epro_node_string(m) : NULL;
    slen = (size_t) (bar - want);

    if (strcmp(bar + 1, val) != 0) {
        return EPRO_ERROR;
    }

    /* "|value": an identifier without a system */

    if (slen == 0) {
        return (sys == NULL) ? EPRO_OK : EPRO_ERROR;
    }

    return (sys && strlen(sys) == slen && memcmp(sys, want, slen) == 0)
           ? EPRO_OK : EPRO_ERROR;
}


/* "urn:uuid:<uuid>", or an absolute http(s) url */

static int
epro_fb_full_url(const char *s)
{
    char    id[EPRO_UUID_LEN + 1];
    size_t  n;

    n = strlen(s);

    if (n > 9 && strncmp(s, "urn:uuid:", 9) == 0) {
        return epro_uuid_parse(id, s + 9, n - 9) == 0 ? EPRO_OK : EPRO_ERROR;
    }

    if ((n > 7 && strncmp(s, "http://", 7) == 0)
        || (n > 8 && strncmp(s, "https://", 8) == 0))
    {
        return EPRO_OK;
    }

    return EPRO_ERROR;
}


/*
 * The members of an object: each known one, once, of its type, in
 * found[] (NULL: absent or wrong); the others are issues.
 */

static int
epro_fb_members(epro_fhir_request_t *req, const epro_node_t *n,
    const char *path, const char *const *names,
    const epro_fhir_prim_e *types, const epro_node_t **found,
    epro_alloc_t *a)
{
    int                 i;
    char                where[EPRO_FHIR_PATH_MAX];
    unsigned            seen;
    const char         *key, *msg;
    const epro_node_t  *m;

    for (i = 0; names[i]; i++) {
        found[i] = NULL;
    }

    seen = 0;

    for (m = epro_node_child(n); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        i = epro_fhir_name(names, key);

        if (i < 0 || (seen & (1u << i))) {
            if (epro_fb_issue(req, a, 1, "structure", path, key, i < 0
                              ? "unknown element" : "duplicate element")
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        seen |= 1u << i;

        msg = (strcmp(key, "extension") == 0) ? epro_fhir_extensions(m)
                                              : epro_fhir_primitive(m,
                                                                types[i]);

        if (msg != NULL) {
            snprintf(where, sizeof(where), "%s.%s", path, key);

            if (epro_fb_issue(req, a, 1, "structure", where, NULL, msg)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        found[i] = m;
    }

    return EPRO_OK;
}


static int
epro_fb_issue(epro_fhir_request_t *req, epro_alloc_t *a, int structure,
    const char *code, const char *path, const char *member,
    const char *message)
{
    char  where[EPRO_FHIR_PATH_MAX];

    if (member) {
        snprintf(where, sizeof(where), "%s.%s", path, member);
        path = where;
    }

    req->nstructure += structure;

    return epro_fhir_issue_add(req, code, path, message, a) == EPRO_OK
           ? EPRO_OK : EPRO_NOMEM;
}


static void
epro_fb_done(epro_fhir_request_t *req)
{
    if (req->nfound) {
        req->status = req->nstructure ? EPRO_STATUS_BAD_JSON
                                      : EPRO_STATUS_INVALID;
    }
}


int
epro_fhir_bundle_merge(epro_fhir_request_t *req,
    const epro_fhir_bundle_t *bundle, epro_alloc_t *a)
{
    size_t                     k, i;
    const epro_fhir_issue_t   *is;
    const epro_fhir_request_t *en;

    for (k = 0; k < bundle->nentries; k++) {
        en = &bundle->entries[k].req;

        for (i = 0; i < en->nissues; i++) {
            is = &en->issues[i];

            if (epro_fhir_issue_add(req, is->code, is->expression,
                                    is->message, a)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }

        req->nfound += en->nfound - en->nissues;
        req->nstructure += en->nstructure;
    }

    if (req->nfound > req->nissues) {
        req->truncated = 1;
    }

    epro_fb_done(req);

    return EPRO_OK;
}


int
epro_fhir_bundle_response(epro_buf_t *b, int batch,
    const epro_fhir_reply_entry_t *e, size_t n, epro_alloc_t *a)
{
    size_t                   k, len;
    const epro_fb_status_t  *st;

    if (epro_fb_add(b, batch ? "{\"resourceType\":\"Bundle\",\"type\":"
                               "\"batch-response\",\"entry\":["
                             : "{\"resourceType\":\"Bundle\",\"type\":"
                               "\"transaction-response\",\"entry\":[", a)
        != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    for (k = 0; k < n; k++, e++) {
        for (st = epro_fb_statuses; st->status && st->status != e->status;
             st++)
        {
            /* void */
        }

        if (epro_fb_add(b, k ? ",{\"response\":{\"status\":\""
                             : "{\"response\":{\"status\":\"", a) != EPRO_OK
            || epro_fb_add(b, st->text, a) != EPRO_OK
            || epro_fb_add(b, "\"", a) != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        if (e->id
            && (epro_fb_add(b, ",\"location\":\"QuestionnaireResponse/", a)
                != EPRO_OK
                || epro_fb_add(b, e->id, a) != EPRO_OK
                || epro_fb_add(b, "/_history/1\",\"etag\":\"W/\\\"1\\\"\"", a)
                   != EPRO_OK))
        {
            return EPRO_NOMEM;
        }

        if (e->modified
            && (epro_fb_add(b, ",\"lastModified\":\"", a) != EPRO_OK
                || epro_fb_add(b, e->modified, a) != EPRO_OK
                || epro_fb_add(b, "\"", a) != EPRO_OK))
        {
            return EPRO_NOMEM;
        }

        if (e->outcome.data) {
            /* the OperationOutcome's own line end stays out */

            len = e->outcome.len;

            while (len && (e->outcome.data[len - 1] == '\n')) {
                len--;
            }

            if (epro_fb_add(b, ",\"outcome\":", a) != EPRO_OK
                || epro_buf_add(b, e->outcome.data, len, a) != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }

        if (epro_fb_add(b, "}}", a) != EPRO_OK) {
            return EPRO_NOMEM;
        }
    }

    return epro_fb_add(b, "]}\n", a);
}


static int
epro_fb_add(epro_buf_t *b, const char *s, epro_alloc_t *a)
{
    return epro_buf_add(b, s, strlen(s), a);
}
