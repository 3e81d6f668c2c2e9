
/*
 * Parse with cJSON into the caller's allocator, then check the contract.
 * The only file that includes cJSON.h.
 */


#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "epro_core.h"


#define EPRO_PATH_MAX  320


typedef struct {
    const char  *name;
    size_t       offset;
    unsigned     required:1;
} epro_field_t;


enum {
    EPRO_F_ID = 0,
    EPRO_F_STUDY,
    EPRO_F_SITE,
    EPRO_F_SUBJECT,
    EPRO_F_VISIT,
    EPRO_F_INSTRUMENT,
    EPRO_F_COLLECTED,
    EPRO_F_ANSWERS,
    EPRO_NFIELDS
};


static const epro_field_t  epro_fields[EPRO_NFIELDS] = {
    { "submissionId", 0, 0 },
    { "studyId", offsetof(epro_submission_t, study), 1 },
    { "siteId", offsetof(epro_submission_t, site), 0 },
    { "subjectId", offsetof(epro_submission_t, subject), 1 },
    { "visitName", offsetof(epro_submission_t, visit), 1 },
    { "instrument", offsetof(epro_submission_t, instrument), 1 },
    { "collectedAt", 0, 1 },
    { "answers", 0, 1 },
};


static epro_alloc_t  *epro_cjson_alloc;


static int epro_check_submission(epro_request_t *req, epro_alloc_t *a,
    cJSON *obj, epro_submission_t *sub, const char *base);
static int epro_check_collected(epro_request_t *req, epro_alloc_t *a,
    cJSON *item, epro_submission_t *sub, const char *path);
static int epro_check_answers(epro_request_t *req, epro_alloc_t *a,
    cJSON *answers, const char *path);
static int epro_check_answer(epro_request_t *req, epro_alloc_t *a,
    cJSON *v, const char *path);
static int epro_check_unique_ids(epro_request_t *req, epro_alloc_t *a);
static int epro_check_clock(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, const char *base);
static int epro_check_instrument(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, cJSON *answers, const char *base);
static int epro_check_item(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, cJSON *v, const char *path);
static int epro_check_value(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, cJSON *v, const char *path);
static cJSON *epro_cjson_parse(const char *text, size_t len,
    epro_alloc_t *a);
static const char *epro_number(char *buf, double v);
static void epro_path(char *out, const char *base, const char *key);
static void *epro_cjson_malloc(size_t size);
static void epro_cjson_free(void *p);


int
epro_parse(epro_request_t *req, const char *body, size_t len,
    epro_alloc_t *a)
{
    int                rc;
    char               base[32];
    size_t             i, count, nspans, max;
    cJSON             *root, *item;
    epro_str_t        *spans;
    epro_submission_t *subs;

    req->status = EPRO_OK;
    req->nerrors = 0;
    req->nfound = 0;
    req->nrules = 0;
    req->truncated = 0;
    req->subs = NULL;
    req->nsubs = 0;

    max = req->max_submissions ? req->max_submissions : 1;

    /*
     * Room for a few elements first: most bodies are one submission, and
     * a pool grows by blocks.  A longer array is scanned once more.
     */

    nspans = (max < 8) ? max : 8;

    for ( ;; ) {
        spans = a->alloc(a->ctx, nspans * sizeof(epro_str_t));
        if (spans == NULL) {
            return EPRO_NOMEM;
        }

        rc = epro_json_check(body, len, spans, nspans, &count, req, a);
        if (rc != EPRO_OK) {
            return rc;
        }

        if (count <= nspans || nspans == max) {
            break;
        }

        nspans = (count < max) ? count : max;
    }

    root = epro_cjson_parse(body, len, a);

    if (root == NULL) {
        return EPRO_NOMEM;
    }

    if (cJSON_IsArray(root)) {
        if (count == 0) {
            if (epro_error(req, a, "", "the array is empty") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            goto invalid;
        }

        if (count > max) {
            if (epro_error(req, a, "",
                           "%lu submissions in one request, at most %lu",
                           (unsigned long) count, (unsigned long) max)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            goto invalid;
        }

    } else if (!cJSON_IsObject(root)) {
        if (epro_error(req, a, "",
                       "must be a submission object or an array of them")
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }

        goto invalid;
    }

    subs = a->alloc(a->ctx, count * sizeof(epro_submission_t));
    if (subs == NULL) {
        return EPRO_NOMEM;
    }

    memset(subs, 0, count * sizeof(epro_submission_t));

    item = cJSON_IsArray(root) ? root->child : root;

    for (i = 0; i < count && item; i++, item = item->next) {
        base[0] = '\0';

        if (cJSON_IsArray(root)) {
            snprintf(base, sizeof(base), "/%lu", (unsigned long) i);
        }

        subs[i].payload = spans[i];

        rc = epro_check_submission(req, a, item, &subs[i], base);
        if (rc == EPRO_NOMEM) {
            return rc;
        }
    }

    req->subs = subs;
    req->nsubs = count;

    /* whatever else failed: a client fixing what it was told must not
     * meet a new error in its second try */

    if (epro_check_unique_ids(req, a) == EPRO_NOMEM) {
        return EPRO_NOMEM;
    }

    if (req->nerrors) {
        goto invalid;
    }

    return EPRO_OK;

invalid:

    req->status = EPRO_INVALID;
    return EPRO_INVALID;
}


static int
epro_check_submission(epro_request_t *req, epro_alloc_t *a, cJSON *obj,
    epro_submission_t *sub, const char *base)
{
    char                path[EPRO_PATH_MAX];
    size_t              i, len, chars, found;
    cJSON              *m, *answers;
    unsigned            seen;
    epro_str_t         *str;
    const epro_field_t *f;

    if (!cJSON_IsObject(obj)) {
        return epro_error(req, a, base, "must be a submission object");
    }

    seen = 0;
    answers = NULL;
    found = req->nfound;

    for (m = obj->child; m; m = m->next) {
        epro_path(path, base, m->string);

        for (i = 0; i < EPRO_NFIELDS; i++) {
            if (strcmp(m->string, epro_fields[i].name) == 0) {
                break;
            }
        }

        if (i == EPRO_NFIELDS) {
            if (epro_error(req, a, path, "unknown member") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            continue;
        }

        if (seen & (1u << i)) {
            if (epro_error(req, a, path, "duplicate member") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            continue;
        }

        seen |= 1u << i;
        f = &epro_fields[i];

        switch (i) {

        case EPRO_F_ID:
            if (!cJSON_IsString(m)
                || epro_uuid_parse(sub->id, m->valuestring,
                                   strlen(m->valuestring)) != 0)
            {
                if (epro_error(req, a, path,
                               "must be a UUID string "
                               "(8-4-4-4-12 hexadecimal digits)")
                    != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }
            }

            break;

        case EPRO_F_COLLECTED:
            if (epro_check_collected(req, a, m, sub, path) != EPRO_OK) {
                return EPRO_NOMEM;
            }

            break;

        case EPRO_F_ANSWERS:
            if (epro_check_answers(req, a, m, path) != EPRO_OK) {
                return EPRO_NOMEM;
            }

            answers = m;
            break;

        default:
            if (!cJSON_IsString(m)) {
                if (epro_error(req, a, path, "must be a string") != EPRO_OK) {
                    return EPRO_NOMEM;
                }

                break;
            }

            len = strlen(m->valuestring);
            chars = epro_utf8_chars(m->valuestring, len);

            if (chars < 1 || chars > EPRO_MAX_FIELD_CHARS) {
                if (epro_error(req, a, path,
                               "must be 1 to %d characters long, not %lu",
                               EPRO_MAX_FIELD_CHARS, (unsigned long) chars)
                    != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }

                break;
            }

            str = (epro_str_t *) ((char *) sub + f->offset);
            str->data = m->valuestring;
            str->len = len;
        }
    }

    for (i = 0; i < EPRO_NFIELDS; i++) {
        if (epro_fields[i].required && !(seen & (1u << i))) {
            epro_path(path, base, epro_fields[i].name);

            if (epro_error(req, a, path, "is required") != EPRO_OK) {
                return EPRO_NOMEM;
            }
        }
    }

    /* past EPRO_MAX_ERRORS, nerrors stands still: count all found */

    if (req->nfound != found || answers == NULL) {
        return EPRO_OK;
    }

    /* the contract holds: now the clock and the instrument's rules */

    if (epro_check_clock(req, a, sub, base) != EPRO_OK
        || (req->policy != EPRO_POLICY_OFF
            && epro_check_instrument(req, a, sub, answers, base) != EPRO_OK))
    {
        return EPRO_NOMEM;
    }

    req->nrules += req->nfound - found;

    return EPRO_OK;
}


static int
epro_check_clock(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, const char *base)
{
    char     path[EPRO_PATH_MAX], ahead[32];
    int64_t  ms;

    if (req->now_ms == 0) {
        return EPRO_OK;
    }

    ms = epro_rfc3339_ms(sub->collected, strlen(sub->collected));

    epro_path(path, base, "collectedAt");

    if (req->skew_ms >= 0 && ms > req->now_ms + req->skew_ms) {
        return epro_error(req, a, path,
                          "is %s s ahead of the server's clock, "
                          "more than the %lld s allowed",
                          epro_number(ahead, (ms - req->now_ms) / 1000.0),
                          (long long) (req->skew_ms / 1000));
    }

    if (req->max_age_ms >= 0 && ms < req->now_ms - req->max_age_ms) {
        return epro_error(req, a, path,
                          "is older than the %lld s accepted",
                          (long long) (req->max_age_ms / 1000));
    }

    return EPRO_OK;
}


static int
epro_check_instrument(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, cJSON *answers, const char *base)
{
    char                      path[EPRO_PATH_MAX], apath[EPRO_PATH_MAX];
    size_t                    i, present;
    cJSON                    *m;
    unsigned char            *seen;
    const epro_item_t        *item;
    const epro_instrument_t  *in;

    in = epro_instrument_find(req->instruments, sub->instrument.data,
                              sub->instrument.len);

    if (in == NULL) {
        if (req->policy != EPRO_POLICY_STRICT) {
            return EPRO_OK;
        }

        epro_path(path, base, "instrument");

        return epro_error(req, a, path, "unknown instrument \"%.*s\"",
                          (int) sub->instrument.len, sub->instrument.data);
    }

    epro_path(apath, base, "answers");

    seen = a->alloc(a->ctx, in->nitems + 1);
    if (seen == NULL) {
        return EPRO_NOMEM;
    }

    memset(seen, 0, in->nitems + 1);
    present = 0;

    for (m = answers->child; m; m = m->next) {
        epro_path(path, apath, m->string);

        item = epro_item_find(in, m->string, strlen(m->string));

        if (item == NULL) {
            if (!in->allow_unknown
                && epro_error(req, a, path, "%s: not an item of %.*s",
                              m->string, (int) in->code.len, in->code.data)
                   != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        if (cJSON_IsNull(m) || (cJSON_IsArray(m) && m->child == NULL)) {
            continue;
        }

        i = item - in->items;
        seen[i] = 1;
        present += item->required;

        if (epro_check_item(req, a, item, m, path) != EPRO_OK) {
            return EPRO_NOMEM;
        }
    }

    if (present == in->nrequired) {
        return EPRO_OK;
    }

    for (i = 0; i < in->nitems; i++) {
        item = &in->items[i];

        if (item->required && !seen[i]) {
            epro_path(path, apath, item->id.data);

            if (epro_error(req, a, path, "%s: is required by %.*s",
                           item->id.data, (int) in->code.len, in->code.data)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }
    }

    return EPRO_OK;
}


static int
epro_check_item(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, cJSON *v, const char *path)
{
    int      rc;
    cJSON   *e;

    if (!cJSON_IsArray(v)) {
        if (item->multiple) {
            return epro_error(req, a, path, "%s: must be a list of values",
                              item->id.data);
        }

        return epro_check_value(req, a, item, v, path);
    }

    if (!item->multiple) {
        return epro_error(req, a, path, "%s: takes one value, not a list",
                          item->id.data);
    }

    for (e = v->child; e; e = e->next) {
        rc = epro_check_value(req, a, item, e, path);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    return EPRO_OK;
}


static int
epro_check_value(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, cJSON *v, const char *path)
{
    char                 n1[32], n2[32];
    size_t               i, len;
    const char          *id;
    const epro_choice_t *c;

    static const char  *names[] = {
        "an integer", "a number", "a string", "true or false",
        "one of the choices", "a date (YYYY-MM-DD)",
        "an RFC 3339 date-time"
    };

    id = item->id.data;

    if (cJSON_IsNull(v)) {
        return EPRO_OK;
    }

    switch (item->type) {

    case EPRO_ITEM_INTEGER:
    case EPRO_ITEM_DECIMAL:
        if (!cJSON_IsNumber(v)
            || (item->type == EPRO_ITEM_INTEGER
                && v->valuedouble != floor(v->valuedouble)))
        {
            break;
        }

        if (item->has_min && v->valuedouble < item->min) {
            return epro_error(req, a, path, "%s: %s is below the minimum %s",
                              id, epro_number(n1, v->valuedouble),
                              epro_number(n2, item->min));
        }

        if (item->has_max && v->valuedouble > item->max) {
            return epro_error(req, a, path, "%s: %s is above the maximum %s",
                              id, epro_number(n1, v->valuedouble),
                              epro_number(n2, item->max));
        }

        return EPRO_OK;

    case EPRO_ITEM_STRING:
        if (!cJSON_IsString(v)) {
            break;
        }

        len = epro_utf8_chars(v->valuestring, strlen(v->valuestring));

        if (item->max_length && len > item->max_length) {
            return epro_error(req, a, path,
                              "%s: %lu characters, at most %lu allowed",
                              id, (unsigned long) len,
                              (unsigned long) item->max_length);
        }

        return EPRO_OK;

    case EPRO_ITEM_BOOLEAN:
        if (!cJSON_IsBool(v)) {
            break;
        }

        return EPRO_OK;

    case EPRO_ITEM_CHOICE:
        for (i = 0; i < item->nchoices; i++) {
            c = &item->choices[i];

            if (c->str.data
                ? (cJSON_IsString(v)
                   && strlen(v->valuestring) == c->str.len
                   && memcmp(v->valuestring, c->str.data, c->str.len) == 0)
                : (cJSON_IsNumber(v) && v->valuedouble == c->num))
            {
                return EPRO_OK;
            }
        }

        return epro_error(req, a, path, "%s: not one of the %lu choices",
                          id, (unsigned long) item->nchoices);

    case EPRO_ITEM_DATE:
        if (cJSON_IsString(v)
            && epro_date_valid(v->valuestring, strlen(v->valuestring)) == 0)
        {
            return EPRO_OK;
        }

        break;

    case EPRO_ITEM_DATETIME:
        if (cJSON_IsString(v)
            && epro_rfc3339_valid(v->valuestring, strlen(v->valuestring))
               == 0)
        {
            return EPRO_OK;
        }

        break;
    }

    return epro_error(req, a, path, "%s: must be %s", id, names[item->type]);
}


static int
epro_check_collected(epro_request_t *req, epro_alloc_t *a, cJSON *item,
    epro_submission_t *sub, const char *path)
{
    size_t  len;
    double  v;

    if (cJSON_IsString(item)) {
        len = strlen(item->valuestring);

        if (len <= EPRO_TIME_LEN
            && epro_rfc3339_valid(item->valuestring, len) == 0)
        {
            memcpy(sub->collected, item->valuestring, len + 1);
            return EPRO_OK;
        }

    } else if (cJSON_IsNumber(item)) {
        v = item->valuedouble;

        /* 253402300799 is 9999-12-31T23:59:59Z */

        if (v >= 0 && v <= 253402300799.0 && v == floor(v)) {
            epro_unix_to_rfc3339(sub->collected, (int64_t) v, 0);
            return EPRO_OK;
        }
    }

    return epro_error(req, a, path,
                      "must be an RFC 3339 timestamp with an offset "
                      "(2026-01-31T08:00:00+01:00) or integer Unix seconds");
}


static int
epro_check_answers(epro_request_t *req, epro_alloc_t *a, cJSON *answers,
    const char *path)
{
    char      vpath[EPRO_PATH_MAX];
    size_t    n, h, mask, len, chars;
    cJSON    *m, **table;

    if (!cJSON_IsObject(answers)) {
        return epro_error(req, a, path, "must be an object of item answers");
    }

    n = 0;

    for (m = answers->child; m; m = m->next) {
        n++;
    }

    if (n == 0 || n > EPRO_MAX_ANSWERS) {
        return epro_error(req, a, path, "must have 1 to %d items, not %lu",
                          EPRO_MAX_ANSWERS, (unsigned long) n);
    }

    /* duplicate item ids, found in linear time with a small hash table */

    mask = 1;
    while (mask < n * 2) {
        mask <<= 1;
    }

    table = a->alloc(a->ctx, mask * sizeof(cJSON *));
    if (table == NULL) {
        return EPRO_NOMEM;
    }

    memset(table, 0, mask * sizeof(cJSON *));
    mask--;

    for (m = answers->child; m; m = m->next) {
        epro_path(vpath, path, m->string);

        len = strlen(m->string);
        chars = epro_utf8_chars(m->string, len);

        if (chars < 1 || chars > EPRO_MAX_ITEM_CHARS) {
            if (epro_error(req, a, vpath,
                           "item id must be 1 to %d characters long",
                           EPRO_MAX_ITEM_CHARS)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        for (h = epro_hash(m->string, len) & mask;
             table[h];
             h = (h + 1) & mask)
        {
            if (strcmp(table[h]->string, m->string) == 0) {
                break;
            }
        }

        if (table[h]) {
            if (epro_error(req, a, vpath, "duplicate item") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            continue;
        }

        table[h] = m;

        if (epro_check_answer(req, a, m, vpath) != EPRO_OK) {
            return EPRO_NOMEM;
        }
    }

    return EPRO_OK;
}


static int
epro_check_answer(epro_request_t *req, epro_alloc_t *a, cJSON *v,
    const char *path)
{
    cJSON   *e;
    size_t   chars;
    unsigned array;

    array = cJSON_IsArray(v);
    e = array ? v->child : v;

    for ( /* void */ ; e; e = array ? e->next : NULL) {

        if (cJSON_IsString(e)) {
            chars = epro_utf8_chars(e->valuestring, strlen(e->valuestring));

            if (chars > EPRO_MAX_ANSWER_CHARS) {
                return epro_error(req, a, path,
                                  "text answer is longer than %d characters",
                                  EPRO_MAX_ANSWER_CHARS);
            }

            continue;
        }

        if (cJSON_IsNumber(e) || cJSON_IsBool(e) || cJSON_IsNull(e)) {
            continue;
        }

        return epro_error(req, a, path,
                          array ? "array answers may hold only numbers, "
                                  "strings, booleans and null"
                                : "must be a number, string, boolean, null "
                                  "or an array of those");
    }

    return EPRO_OK;
}


static int
epro_check_unique_ids(epro_request_t *req, epro_alloc_t *a)
{
    char    path[EPRO_PATH_MAX];
    size_t  i, j;

    /* requests are small (epro_max_submissions); sort-free and quadratic
     * only in the number of submissions, never in the body size */

    if (req->nsubs < 2) {
        return EPRO_OK;
    }

    for (i = 1; i < req->nsubs; i++) {
        if (req->subs[i].id[0] == '\0') {
            continue;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(req->subs[i].id, req->subs[j].id) == 0) {
                snprintf(path, sizeof(path), "/%lu/submissionId",
                         (unsigned long) i);

                if (epro_error(req, a, path,
                               "the same submissionId as /%lu",
                               (unsigned long) j)
                    != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }

                break;
            }
        }
    }

    return EPRO_OK;
}


static void
epro_path(char *out, const char *base, const char *key)
{
    size_t  n;

    n = strlen(base);
    memcpy(out, base, n);
    out[n++] = '/';

    for ( /* void */ ; *key && n + 3 < EPRO_PATH_MAX; key++) {
        if (*key == '~' || *key == '/') {
            out[n++] = '~';
            out[n++] = (*key == '~') ? '0' : '1';

        } else {
            out[n++] = *key;
        }
    }

    out[n] = '\0';
}


/* the shortest text that reads back as the same double */

static const char *
epro_number(char *buf, double v)
{
    int  prec;

    for (prec = 15; prec < 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);

        if (strtod(buf, NULL) == v) {
            return buf;
        }
    }

    snprintf(buf, 32, "%.17g", v);

    return buf;
}


/* cJSON allocates from the caller's allocator only during the parse */

static cJSON *
epro_cjson_parse(const char *text, size_t len, epro_alloc_t *a)
{
    cJSON        *root;
    cJSON_Hooks   hooks;

    hooks.malloc_fn = epro_cjson_malloc;
    hooks.free_fn = epro_cjson_free;
    epro_cjson_alloc = a;
    cJSON_InitHooks(&hooks);

    root = cJSON_ParseWithLength(text, len);

    cJSON_InitHooks(NULL);
    epro_cjson_alloc = NULL;

    return root;
}


static void *
epro_cjson_malloc(size_t size)
{
    return epro_cjson_alloc->alloc(epro_cjson_alloc->ctx, size);
}


static void
epro_cjson_free(void *p)
{
    if (epro_cjson_alloc && epro_cjson_alloc->free) {
        epro_cjson_alloc->free(epro_cjson_alloc->ctx, p);
    }
}


/*
 * The definitions file:
 *
 * {"instruments": [{"code": "PHQ-9", "version": "1", "unknownItems":
 *   "reject", "items": [{"id": "PHQ9_1", "type": "integer", "min": 0,
 *   "max": 3, "required": true}, ...]}, ...]}
 */

#define epro_def_fail(...)                                                  \
    do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)


static int epro_load_item(epro_item_t *item, cJSON *def, char *err,
    size_t errlen, const char *where, epro_alloc_t *a);


static int
epro_def_string(epro_str_t *out, cJSON *v, int required)
{
    if (v == NULL) {
        return required ? -1 : 0;
    }

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0'
        || epro_utf8_chars(v->valuestring, strlen(v->valuestring))
           > EPRO_MAX_FIELD_CHARS)
    {
        return -1;
    }

    out->data = v->valuestring;
    out->len = strlen(v->valuestring);

    return 0;
}


static int
epro_def_members(cJSON *obj, const char *const *names, char *err,
    size_t errlen, const char *where)
{
    char    path[EPRO_PATH_MAX];
    size_t  i;
    cJSON  *m, *o;

    for (m = obj->child; m; m = m->next) {
        epro_path(path, where, m->string);

        for (i = 0; names[i]; i++) {
            if (strcmp(m->string, names[i]) == 0) {
                break;
            }
        }

        if (names[i] == NULL) {
            epro_def_fail("%s: unknown member", path);
        }

        for (o = obj->child; o != m; o = o->next) {
            if (strcmp(o->string, m->string) == 0) {
                epro_def_fail("%s: duplicate member", path);
            }
        }
    }

    return 0;
}


int
epro_instruments_load(epro_instruments_t *set, const char *text,
    size_t len, char *err, size_t errlen, epro_alloc_t *a)
{
    char                where[96];
    size_t              i, j, n, count;
    cJSON              *root, *list, *def, *items, *item, *v;
    epro_request_t      req;
    epro_instrument_t  *in;

    static const char *const  top[] = { "instruments", NULL };
    static const char *const  members[] = {
        "code", "version", "title", "unknownItems", "items", NULL
    };

    memset(set, 0, sizeof(epro_instruments_t));
    memset(&req, 0, sizeof(epro_request_t));

    if (len == 0) {
        epro_def_fail("the file is empty");
    }

    if (epro_json_check(text, len, NULL, 0, &count, &req, a) != EPRO_OK) {
        epro_def_fail("%s%s%s", req.nerrors ? req.errors[0].path : "",
                      req.nerrors && req.errors[0].path[0] ? ": " : "",
                      req.nerrors ? req.errors[0].message : "out of memory");
    }

    root = epro_cjson_parse(text, len, a);
    if (root == NULL) {
        epro_def_fail("out of memory");
    }

    if (!cJSON_IsObject(root)
        || epro_def_members(root, top, err, errlen, "") != 0)
    {
        if (!cJSON_IsObject(root)) {
            epro_def_fail("must be an object with \"instruments\"");
        }

        return -1;
    }

    list = cJSON_GetObjectItemCaseSensitive(root, "instruments");

    if (!cJSON_IsArray(list)) {
        epro_def_fail("/instruments: must be an array");
    }

    n = (size_t) cJSON_GetArraySize(list);

    set->list = a->alloc(a->ctx, (n ? n : 1) * sizeof(epro_instrument_t));
    if (set->list == NULL) {
        epro_def_fail("out of memory");
    }

    memset(set->list, 0, (n ? n : 1) * sizeof(epro_instrument_t));
    set->n = n;

    for (i = 0, def = list->child; def; i++, def = def->next) {
        in = &set->list[i];
        snprintf(where, sizeof(where), "/instruments/%lu", (unsigned long) i);

        if (!cJSON_IsObject(def)) {
            epro_def_fail("%s: must be an object", where);
        }

        if (epro_def_members(def, members, err, errlen, where) != 0) {
            return -1;
        }

        if (epro_def_string(&in->code,
                            cJSON_GetObjectItemCaseSensitive(def, "code"), 1)
            != 0)
        {
            epro_def_fail("%s/code: must be a string of 1 to %d characters",
                          where, EPRO_MAX_FIELD_CHARS);
        }

        if (epro_def_string(&in->version,
                            cJSON_GetObjectItemCaseSensitive(def, "version"),
                            0)
            != 0)
        {
            epro_def_fail("%s/version: must be a string of 1 to %d "
                          "characters", where, EPRO_MAX_FIELD_CHARS);
        }

        v = cJSON_GetObjectItemCaseSensitive(def, "title");

        if (v && !cJSON_IsString(v)) {
            epro_def_fail("%s/title: must be a string", where);
        }

        v = cJSON_GetObjectItemCaseSensitive(def, "unknownItems");

        if (v) {
            if (cJSON_IsString(v) && strcmp(v->valuestring, "allow") == 0) {
                in->allow_unknown = 1;

            } else if (!cJSON_IsString(v)
                       || strcmp(v->valuestring, "reject") != 0)
            {
                epro_def_fail("%s/unknownItems: must be \"reject\" or "
                              "\"allow\"", where);
            }
        }

        items = cJSON_GetObjectItemCaseSensitive(def, "items");

        if (!cJSON_IsArray(items) || items->child == NULL
            || cJSON_GetArraySize(items) > EPRO_MAX_ANSWERS)
        {
            epro_def_fail("%s/items: must be an array of 1 to %d items",
                          where, EPRO_MAX_ANSWERS);
        }

        in->nitems = (size_t) cJSON_GetArraySize(items);

        in->items = a->alloc(a->ctx, in->nitems * sizeof(epro_item_t));
        if (in->items == NULL) {
            epro_def_fail("out of memory");
        }

        memset(in->items, 0, in->nitems * sizeof(epro_item_t));

        for (j = 0, item = items->child; item; j++, item = item->next) {
            char  iwhere[128];

            snprintf(iwhere, sizeof(iwhere), "%s/items/%lu", where,
                     (unsigned long) j);

            if (epro_load_item(&in->items[j], item, err, errlen, iwhere, a)
                != 0)
            {
                return -1;
            }

            in->nrequired += in->items[j].required;
        }
    }

    return epro_instruments_index(set, err, errlen, a);
}


static int
epro_load_item(epro_item_t *item, cJSON *def, char *err, size_t errlen,
    const char *where, epro_alloc_t *a)
{
    size_t  i;
    cJSON  *v, *c;

    static const char *const  members[] = {
        "id", "type", "label", "min", "max", "maxLength", "choices",
        "required", "multiple", NULL
    };

    static const char *const  types[] = {
        "integer", "decimal", "string", "boolean", "choice", "date",
        "datetime", NULL
    };

    if (!cJSON_IsObject(def)) {
        epro_def_fail("%s: must be an object", where);
    }

    if (epro_def_members(def, members, err, errlen, where) != 0) {
        return -1;
    }

    if (epro_def_string(&item->id,
                        cJSON_GetObjectItemCaseSensitive(def, "id"), 1)
        != 0)
    {
        epro_def_fail("%s/id: must be a string of 1 to %d characters",
                      where, EPRO_MAX_ITEM_CHARS);
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "type");

    for (i = 0; v && cJSON_IsString(v) && types[i]; i++) {
        if (strcmp(v->valuestring, types[i]) == 0) {
            break;
        }
    }

    if (v == NULL || !cJSON_IsString(v) || types[i] == NULL) {
        epro_def_fail("%s/type: must be one of integer, decimal, string, "
                      "boolean, choice, date, datetime", where);
    }

    item->type = (epro_item_type_e) i;

    v = cJSON_GetObjectItemCaseSensitive(def, "label");

    if (v && !cJSON_IsString(v)) {
        epro_def_fail("%s/label: must be a string", where);
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "min");

    if (v) {
        if (!cJSON_IsNumber(v) || (item->type != EPRO_ITEM_INTEGER
                                   && item->type != EPRO_ITEM_DECIMAL))
        {
            epro_def_fail("%s/min: a number, for integer and decimal items",
                          where);
        }

        item->min = v->valuedouble;
        item->has_min = 1;
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "max");

    if (v) {
        if (!cJSON_IsNumber(v) || (item->type != EPRO_ITEM_INTEGER
                                   && item->type != EPRO_ITEM_DECIMAL))
        {
            epro_def_fail("%s/max: a number, for integer and decimal items",
                          where);
        }

        item->max = v->valuedouble;
        item->has_max = 1;
    }

    if (item->has_min && item->has_max && item->min > item->max) {
        epro_def_fail("%s/max: is below min", where);
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "maxLength");

    if (v) {
        if (!cJSON_IsNumber(v) || item->type != EPRO_ITEM_STRING
            || v->valuedouble < 1 || v->valuedouble > EPRO_MAX_ANSWER_CHARS
            || v->valuedouble != floor(v->valuedouble))
        {
            epro_def_fail("%s/maxLength: an integer from 1 to %d, for "
                          "string items", where, EPRO_MAX_ANSWER_CHARS);
        }

        item->max_length = (size_t) v->valuedouble;
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "choices");

    if ((v != NULL) != (item->type == EPRO_ITEM_CHOICE)) {
        epro_def_fail("%s/choices: %s", where,
                      v ? "only for choice items"
                        : "required for choice items");
    }

    if (v) {
        if (!cJSON_IsArray(v) || v->child == NULL) {
            epro_def_fail("%s/choices: must be a non-empty array", where);
        }

        item->nchoices = (size_t) cJSON_GetArraySize(v);

        item->choices = a->alloc(a->ctx,
                                 item->nchoices * sizeof(epro_choice_t));
        if (item->choices == NULL) {
            epro_def_fail("out of memory");
        }

        for (i = 0, c = v->child; c; i++, c = c->next) {
            item->choices[i].str.data = NULL;
            item->choices[i].num = 0;

            if (cJSON_IsString(c)) {
                item->choices[i].str.data = c->valuestring;
                item->choices[i].str.len = strlen(c->valuestring);

            } else if (cJSON_IsNumber(c)) {
                item->choices[i].num = c->valuedouble;

            } else {
                epro_def_fail("%s/choices/%lu: must be a string or a number",
                              where, (unsigned long) i);
            }
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "required");

    if (v) {
        if (!cJSON_IsBool(v)) {
            epro_def_fail("%s/required: must be true or false", where);
        }

        item->required = cJSON_IsTrue(v);
    }

    v = cJSON_GetObjectItemCaseSensitive(def, "multiple");

    if (v) {
        if (!cJSON_IsBool(v)) {
            epro_def_fail("%s/multiple: must be true or false", where);
        }

        item->multiple = cJSON_IsTrue(v);
    }

    return 0;
}
