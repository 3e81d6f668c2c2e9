
/*
 * Parse with cJSON into the caller's allocator, then check the contract.
 * The only file that includes cJSON.h.
 */


#include <math.h>
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
static void epro_path(char *out, const char *base, const char *key);
static void *epro_cjson_malloc(size_t size);
static void epro_cjson_free(void *p);


int
epro_parse(epro_request_t *req, const char *body, size_t len,
    epro_alloc_t *a)
{
    int                rc;
    char               base[32];
    size_t             i, count, nspans;
    cJSON             *root, *item;
    epro_str_t        *spans;
    cJSON_Hooks        hooks;
    epro_submission_t *subs;

    req->status = EPRO_OK;
    req->nerrors = 0;
    req->truncated = 0;
    req->subs = NULL;
    req->nsubs = 0;

    nspans = req->max_submissions ? req->max_submissions : 1;

    spans = a->alloc(a->ctx, nspans * sizeof(epro_str_t));
    if (spans == NULL) {
        return EPRO_NOMEM;
    }

    rc = epro_json_check(body, len, spans, nspans, &count, req, a);
    if (rc != EPRO_OK) {
        return rc;
    }

    /* cJSON allocates from the caller's allocator only during the parse */

    hooks.malloc_fn = epro_cjson_malloc;
    hooks.free_fn = epro_cjson_free;
    epro_cjson_alloc = a;
    cJSON_InitHooks(&hooks);

    root = cJSON_ParseWithLength(body, len);

    cJSON_InitHooks(NULL);
    epro_cjson_alloc = NULL;

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

        if (count > nspans) {
            if (epro_error(req, a, "",
                           "%lu submissions in one request, at most %lu",
                           (unsigned long) count, (unsigned long) nspans)
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

    if (req->nerrors == 0 && epro_check_unique_ids(req, a) == EPRO_NOMEM) {
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
    size_t              i, len, chars;
    cJSON              *m;
    unsigned            seen;
    epro_str_t         *str;
    const epro_field_t *f;

    if (!cJSON_IsObject(obj)) {
        return epro_error(req, a, base, "must be a submission object");
    }

    seen = 0;

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

    return EPRO_OK;
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
    size_t    n, i, h, mask, len, chars;
    cJSON    *m, **table;
    uint32_t  hash;

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

        hash = 2166136261u;

        for (i = 0; i < len; i++) {
            hash = (hash ^ (unsigned char) m->string[i]) * 16777619u;
        }

        for (h = hash & mask; table[h]; h = (h + 1) & mask) {
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
