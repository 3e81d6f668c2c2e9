
/*
 * What the FHIR intake sends back and adds after the check: the stored
 * resource (the body as sent with the server's id and meta), an
 * OperationOutcome of one issue (403, 413, 503...), issues the glue
 * finds (epro_bind, a row's missing study), the score as text.
 *
 * The resource is rebuilt from the body's bytes, not from the tree: its
 * numbers and strings go back exactly as the client wrote them.  The
 * body passed the strict check (epro_fhir_parse), so the scanner here
 * needs no error path.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epro_fhir.h"
#include "epro_tree.h"


static const char *epro_fo_skip(const char *p, const char *end);
static const char *epro_fo_string(const char *p, const char *end);
static const char *epro_fo_space(const char *p, const char *end);
static const char *epro_fo_member(const char *p, const char *end,
    epro_str_t *key, epro_str_t *val);
static const char *epro_fo_key(const char *p, const char *end,
    epro_str_t *key);
static const char *epro_fo_next(const char *p, const char *end,
    const epro_node_t *root, const epro_node_t **node, epro_str_t *key,
    epro_str_t *val);
static int epro_fo_key_is(const epro_str_t *key, const char *name);
static int epro_fo_add(epro_buf_t *b, const char *s, size_t n, int *first,
    epro_alloc_t *a);
static int epro_fo_str(epro_buf_t *b, const char *s, epro_alloc_t *a);


#define EPRO_FO_Q_EXPR  ".questionnaire"


int
epro_fhir_issue_add(epro_fhir_request_t *req, const char *code,
    const char *expression, const char *message, epro_alloc_t *a)
{
    size_t              elen, mlen;
    epro_fhir_issue_t  *is;

    req->nfound++;

    if (req->nissues == EPRO_MAX_ERRORS) {
        req->truncated = 1;
        return EPRO_OK;
    }

    elen = strlen(expression);
    mlen = strlen(message);
    is = &req->issues[req->nissues];

    is->expression = a->alloc(a->ctx, elen + 1 + mlen + 1);
    if (is->expression == NULL) {
        return EPRO_NOMEM;
    }

    memcpy(is->expression, expression, elen + 1);
    is->message = is->expression + elen + 1;
    memcpy(is->message, message, mlen + 1);
    is->code = code;

    req->nissues++;

    return EPRO_OK;
}


/*
 * A Questionnaire that is not known here is the only problem the policy
 * may forgive: its issue is dropped.  1: nothing else was found, the
 * response is accepted unchecked against any Questionnaire.
 */

int
epro_fhir_forgive_unknown(epro_fhir_request_t *req)
{
    size_t       i, n;
    const char  *e, *base;

    if (req->status != EPRO_STATUS_INVALID || req->truncated) {
        return 0;
    }

    base = req->base ? req->base : "QuestionnaireResponse";
    n = strlen(base);

    for (i = 0; i < req->nissues; i++) {
        e = req->issues[i].expression;

        if (strcmp(req->issues[i].code, "not-found") == 0
            && strncmp(e, base, n) == 0
            && strcmp(e + n, EPRO_FO_Q_EXPR) == 0)
        {
            break;
        }
    }

    if (i == req->nissues) {
        return 0;
    }

    memmove(&req->issues[i], &req->issues[i + 1],
            (req->nissues - i - 1) * sizeof(epro_fhir_issue_t));
    req->nissues--;
    req->nfound--;

    if (req->nfound) {
        return 0;
    }

    req->status = EPRO_OK;

    return 1;
}


int
epro_fhir_outcome_one(epro_buf_t *b, const char *severity, const char *code,
    const char *diagnostics, epro_alloc_t *a)
{
    if (epro_fo_str(b, "{\"resourceType\":\"OperationOutcome\","
                       "\"issue\":[{\"severity\":", a) != EPRO_OK
        || epro_buf_add_json_string(b, severity, strlen(severity), a)
           != EPRO_OK
        || epro_fo_str(b, ",\"code\":", a) != EPRO_OK
        || epro_buf_add_json_string(b, code, strlen(code), a) != EPRO_OK
        || epro_fo_str(b, ",\"diagnostics\":", a) != EPRO_OK
        || epro_buf_add_json_string(b, diagnostics, strlen(diagnostics), a)
           != EPRO_OK
        || epro_fo_str(b, "}]}\n", a) != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    return EPRO_OK;
}


/*
 * The resource as stored: resourceType, the server's id and meta first
 * (the client's meta members kept, versionId and lastUpdated the
 * server's), then every other element as sent.  A client's id is
 * replaced, as a FHIR server does on create, and with them what the
 * client's "_id", "_versionId" and "_lastUpdated" said of its values.
 *
 * epro_fhir_resource_head() writes only the head, up to meta's '}', in
 * b, and points the runs of kept members into the body, without copying
 * them: the resource is the head, ',' and each run, then "}\n".  So the
 * glue can send the body's own bytes.  parts->at and parts->n: where
 * ,"lastUpdated":"..." is in the head, so that a caller may cut it out.
 * root: the body's tree (epro_fhir_request_t's), which spares a walk of
 * each member's value, or NULL (a stored payload read back).
 * A resource the check accepted has each element once, so its kept
 * members make at most EPRO_FHIR_RUNS runs; EPRO_ERROR for more.
 */

int
epro_fhir_resource_head(epro_buf_t *b, const char *body, size_t len,
    const epro_node_t *root, const char *id, const char *updated,
    epro_fhir_parts_t *parts, epro_alloc_t *a)
{
    int                 first, kept;
    const char         *p, *q, *end, *qend;
    epro_str_t          key, val, mkey, mval, *run;
    const epro_node_t  *node;

    end = body + len;
    parts->nruns = 0;

    if (epro_fo_str(b, "{\"resourceType\":\"QuestionnaireResponse\","
                       "\"id\":\"", a) != EPRO_OK
        || epro_fo_str(b, id, a) != EPRO_OK
        || epro_fo_str(b, "\",\"meta\":{", a) != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    p = epro_fo_space(body, end);
    p = (p < end) ? p + 1 : end;    /* the '{' */

    first = 1;
    kept = 0;
    run = NULL;

    node = root ? epro_node_child(root) : NULL;

    for (q = p; (q = epro_fo_next(q, end, root, &node, &key, &val)) != NULL;
         /* void */)
    {
        if (epro_fo_key_is(&key, "meta") && val.data[0] == '{') {
            qend = val.data + val.len;

            for (q = val.data + 1;
                 (q = epro_fo_member(q, qend, &mkey, &mval)) != NULL;
                 /* void */)
            {
                if (!epro_fo_key_is(&mkey, "versionId")
                    && !epro_fo_key_is(&mkey, "lastUpdated")
                    && !epro_fo_key_is(&mkey, "_versionId")
                    && !epro_fo_key_is(&mkey, "_lastUpdated")
                    && epro_fo_add(b, mkey.data,
                                   mval.data + mval.len - mkey.data, &first,
                                   a)
                       != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }
            }

            q = val.data + val.len;
        }

        if (epro_fo_key_is(&key, "resourceType")
            || epro_fo_key_is(&key, "id")
            || epro_fo_key_is(&key, "_id")
            || epro_fo_key_is(&key, "meta"))
        {
            kept = 0;
            continue;
        }

        if (kept) {
            run->len = val.data + val.len - run->data;
            continue;
        }

        if (parts->nruns == EPRO_FHIR_RUNS) {
            return EPRO_ERROR;
        }

        run = &parts->run[parts->nruns++];
        run->data = key.data;
        run->len = val.data + val.len - key.data;
        kept = 1;
    }

    if (epro_fo_add(b, "\"versionId\":\"1\"", 15, &first, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    parts->at = b->len;

    if (updated
        && (epro_fo_str(b, ",\"lastUpdated\":\"", a) != EPRO_OK
            || epro_fo_str(b, updated, a) != EPRO_OK
            || epro_fo_str(b, "\"", a) != EPRO_OK))
    {
        return EPRO_NOMEM;
    }

    parts->n = b->len - parts->at;

    return epro_fo_str(b, "}", a);
}


/* the whole resource in b, for callers that want one string */

int
epro_fhir_resource_json(epro_buf_t *b, const char *body, size_t len,
    const epro_node_t *root, const char *id, const char *updated,
    epro_fhir_parts_t *parts, epro_alloc_t *a)
{
    int     rc;
    size_t  i;

    if (epro_buf_reserve(b, len + 160, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    rc = epro_fhir_resource_head(b, body, len, root, id, updated, parts, a);
    if (rc != EPRO_OK) {
        return rc;
    }

    for (i = 0; i < parts->nruns; i++) {
        if (epro_fo_str(b, ",", a) != EPRO_OK
            || epro_buf_add(b, parts->run[i].data, parts->run[i].len, a)
               != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    return epro_fo_str(b, EPRO_FHIR_RESOURCE_END, a);
}


/*
 * The text of the first member called name of the object at obj, which
 * passed the strict check: EPRO_OK and val, or EPRO_ERROR (none).
 */

int
epro_fhir_json_member(const char *obj, size_t len, const char *name,
    epro_str_t *val)
{
    const char  *p, *end;
    epro_str_t   key;

    end = obj + len;
    p = epro_fo_space(obj, end);

    if (p == end || *p != '{') {
        return EPRO_ERROR;
    }

    for (p++; (p = epro_fo_member(p, end, &key, val)) != NULL; /* void */) {
        if (epro_fo_key_is(&key, name)) {
            return EPRO_OK;
        }
    }

    return EPRO_ERROR;
}


/*
 * One pass over a Bundle's text, which passed the strict check: for each
 * element of its first "entry" array (up to n), the text of that
 * element's first "resource" member, or data NULL; the count.  The
 * Bundle check takes them from the tree (epro_node_span); this walk is
 * fuzz_fhir's reference for it.
 */

size_t
epro_fhir_json_resources(const char *body, size_t len, epro_str_t *out,
    size_t n)
{
    size_t       k;
    const char  *p, *q, *end;
    epro_str_t   key, val;

    end = body + len;
    p = epro_fo_space(body, end);

    if (p == end || *p != '{') {
        return 0;
    }

    for (p++; (q = epro_fo_key(p, end, &key)) != NULL; p = q) {
        if (!epro_fo_key_is(&key, "entry") || *q != '[') {
            q = epro_fo_skip(q, end);
            continue;
        }

        for (k = 0, p = q + 1; ; k++) {
            p = epro_fo_space(p, end);

            if (p < end && *p == ',') {
                p = epro_fo_space(p + 1, end);
            }

            if (p >= end || *p == ']') {
                return k;
            }

            if (k < n) {
                out[k].data = NULL;
                out[k].len = 0;
            }

            if (*p != '{') {
                p = epro_fo_skip(p, end);
                continue;
            }

            for (p++; (q = epro_fo_member(p, end, &key, &val)) != NULL;
                 p = q)
            {
                if (k < n && out[k].data == NULL
                    && epro_fo_key_is(&key, "resource"))
                {
                    out[k] = val;
                }
            }

            /* the element's '}', where epro_fo_member stopped */

            p = epro_fo_space(p, end);
            p = (p < end && *p == '}') ? p + 1 : p;
        }
    }

    return 0;
}


/* the shortest text that reads back as the same double */

size_t
epro_fhir_number_text(char *out, double v)
{
    int  prec;

    if (v == floor(v) && fabs(v) < 1e15) {
        return (size_t) snprintf(out, EPRO_FHIR_NUMBER_LEN, "%.0f", v);
    }

    for (prec = 1; prec < 17; prec++) {
        snprintf(out, EPRO_FHIR_NUMBER_LEN, "%.*g", prec, v);

        if (strtod(out, NULL) == v) {
            return strlen(out);
        }
    }

    return (size_t) snprintf(out, EPRO_FHIR_NUMBER_LEN, "%.17g", v);
}


/*
 * The end of the value at p.  Inside a container only quotes and brackets
 * matter, and a string ends at its first unescaped quote: the text passed
 * the strict check, so a backslash always has a byte after it.
 */

static const char *
epro_fo_skip(const char *p, const char *end)
{
    size_t  depth;

    depth = 0;

    while (p < end) {
        switch (*p) {

        case '"':
            p = epro_fo_string(p + 1, end);

            if (depth == 0) {
                return p;
            }

            break;

        case '{':
        case '[':
            depth++;
            p++;
            break;

        case '}':
        case ']':
            if (depth == 0) {
                return p;
            }

            p++;

            if (--depth == 0) {
                return p;
            }

            break;

        case ',':
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            if (depth == 0) {
                return p;
            }

            p++;
            break;

        default:
            p++;
        }

        if (depth == 0) {
            continue;
        }

        while (p < end && *p != '"' && *p != '{' && *p != '['
               && *p != '}' && *p != ']')
        {
            p++;
        }
    }

    return end;
}


/* past the closing quote of the string whose bytes start at p */

static const char *
epro_fo_string(const char *p, const char *end)
{
    for ( ;; ) {
        p = epro_json_quote_or_escape(p, end);

        if (end - p < 2 || *p == '"') {
            return (p < end) ? p + 1 : end;
        }

        p += 2;
    }
}


static const char *
epro_fo_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    {
        p++;
    }

    return p;
}


/* the member at p (after '{' or a value); NULL at the object's end */

static const char *
epro_fo_member(const char *p, const char *end, epro_str_t *key,
    epro_str_t *val)
{
    const char  *q;

    p = epro_fo_space(p, end);

    if (p < end && *p == ',') {
        p = epro_fo_space(p + 1, end);
    }

    if (p >= end || *p != '"') {
        return NULL;
    }

    q = epro_fo_skip(p, end);
    key->data = p;
    key->len = q - p;

    p = epro_fo_space(q, end);
    p = epro_fo_space(p + 1, end);      /* the ':' */

    q = epro_fo_skip(p, end);
    val->data = p;
    val->len = q - p;

    return (q > p) ? q : NULL;
}


/*
 * The next member, as epro_fo_member() gives it; with the body's tree
 * (root), the value's end is the node's, so no value is walked.
 */

static const char *
epro_fo_next(const char *p, const char *end, const epro_node_t *root,
    const epro_node_t **node, epro_str_t *key, epro_str_t *val)
{
    const char  *q;

    if (root == NULL) {
        return epro_fo_member(p, end, key, val);
    }

    if (*node == NULL || (q = epro_fo_key(p, end, key)) == NULL) {
        return NULL;
    }

    val->data = q;
    val->len = epro_node_end(*node) - q;
    *node = epro_node_next(*node);

    return q + val->len;
}


/* the key at p (after '{' or a value) and where its value starts; NULL
 * at the object's end */

static const char *
epro_fo_key(const char *p, const char *end, epro_str_t *key)
{
    const char  *q;

    p = epro_fo_space(p, end);

    if (p < end && *p == ',') {
        p = epro_fo_space(p + 1, end);
    }

    if (p >= end || *p != '"') {
        return NULL;
    }

    q = epro_fo_skip(p, end);
    key->data = p;
    key->len = q - p;

    p = epro_fo_space(q, end);
    p = epro_fo_space(p + 1, end);      /* the ':' */

    return (p < end) ? p : NULL;
}


/* a quoted key equal to name once its escapes are read (ASCII only) */

static int
epro_fo_key_is(const epro_str_t *key, const char *name)
{
    char         c, hex[5];
    long         v;
    const char  *p, *end;

    p = key->data + 1;
    end = key->data + key->len - 1;

    while (p < end) {
        c = *p++;

        if (c == '\\' && p < end) {
            c = *p++;

            if (c == 'u' && end - p >= 4) {
                memcpy(hex, p, 4);
                hex[4] = '\0';
                v = strtol(hex, NULL, 16);
                p += 4;

                if (v <= 0 || v > 0x7f) {
                    return 0;
                }

                c = (char) v;

            } else if (c != '"' && c != '\\' && c != '/') {
                return 0;
            }
        }

        if (*name == '\0' || c != *name++) {
            return 0;
        }
    }

    return *name == '\0';
}


static int
epro_fo_add(epro_buf_t *b, const char *s, size_t n, int *first,
    epro_alloc_t *a)
{
    if (!*first && epro_buf_add(b, ",", 1, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    *first = 0;

    return epro_buf_add(b, s, n, a);
}


static int
epro_fo_str(epro_buf_t *b, const char *s, epro_alloc_t *a)
{
    return epro_buf_add(b, s, strlen(s), a);
}
