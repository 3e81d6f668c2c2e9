
/*
 * The native contract: the JSON tree, built under the strict check's
 * rules, in the caller's allocator, then the submission rules.
 */


#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "epro_core.h"
#include "epro_tree.h"


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


static int epro_check_submission(epro_request_t *req, epro_alloc_t *a,
    epro_node_t *obj, epro_submission_t *sub, const epro_where_t *base);
static int epro_check_collected(epro_request_t *req, epro_alloc_t *a,
    epro_node_t *item, epro_submission_t *sub, const epro_where_t *w);
static int epro_check_answers(epro_request_t *req, epro_alloc_t *a,
    epro_node_t *answers, const epro_where_t *w);
static int epro_check_answer(epro_request_t *req, epro_alloc_t *a,
    epro_node_t *v, const epro_where_t *w);
static int epro_check_unique_ids(epro_request_t *req, epro_alloc_t *a);
static int epro_check_clock(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, const epro_where_t *base);
static int epro_check_instrument(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, epro_node_t *answers, const epro_where_t *base);
static int epro_check_item(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, epro_node_t *v, const epro_where_t *w);
static int epro_check_value(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, epro_node_t *v, const epro_where_t *w);
static const char *epro_number(char *buf, double v);


int
epro_parse(epro_request_t *req, const char *body, size_t len,
    epro_alloc_t *a)
{
    int                rc;
    char               nth[24];
    size_t             i, count, max;
    epro_where_t       top;
    epro_node_t       *root, *item;
    epro_node_type_e   type;
    epro_submission_t *subs;

    req->status = EPRO_OK;
    req->nerrors = 0;
    req->nfound = 0;
    req->nrules = 0;
    req->truncated = 0;
    req->subs = NULL;
    req->nsubs = 0;

    max = req->max_submissions ? req->max_submissions : 1;

    rc = epro_json_tree(body, len, req, a, &root);
    if (rc != EPRO_OK) {
        return rc;
    }

    type = epro_node_type(root);
    count = (type == EPRO_NODE_ARRAY) ? epro_node_count(root) : 1;

    if (type == EPRO_NODE_ARRAY) {
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

    } else if (type != EPRO_NODE_OBJECT) {
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

    item = (type == EPRO_NODE_ARRAY) ? epro_node_child(root) : root;

    for (i = 0; i < count && item; i++, item = epro_node_next(item)) {
        top.up = NULL;
        top.key = NULL;

        if (type == EPRO_NODE_ARRAY) {
            snprintf(nth, sizeof(nth), "%lu", (unsigned long) i);
            top.key = nth;
        }

        subs[i].payload.data = epro_node_span(item, &subs[i].payload.len);

        rc = epro_check_submission(req, a, item, &subs[i], &top);
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

    req->status = EPRO_STATUS_INVALID;
    return EPRO_ERROR;
}


static int
epro_check_submission(epro_request_t *req, epro_alloc_t *a, epro_node_t *obj,
    epro_submission_t *sub, const epro_where_t *base)
{
    epro_where_t        w;
    size_t              i, len, chars, found;
    unsigned            seen;
    epro_str_t         *str;
    const char         *key, *value;
    epro_node_t        *m, *answers;
    const epro_field_t *f;

    if (epro_node_type(obj) != EPRO_NODE_OBJECT) {
        return epro_error_at(req, a, base, "must be a submission object");
    }

    w.up = base;
    seen = 0;
    answers = NULL;
    found = req->nfound;

    for (m = epro_node_child(obj); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        w.key = key;

        for (i = 0; i < EPRO_NFIELDS; i++) {
            if (strcmp(key, epro_fields[i].name) == 0) {
                break;
            }
        }

        if (i == EPRO_NFIELDS) {
            if (epro_error_at(req, a, &w, "unknown member") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            continue;
        }

        if (seen & (1u << i)) {
            if (epro_error_at(req, a, &w, "duplicate member") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            continue;
        }

        seen |= 1u << i;
        f = &epro_fields[i];
        value = epro_node_string(m);

        switch (i) {

        case EPRO_F_ID:
            if (value == NULL
                || epro_uuid_parse(sub->id, value, strlen(value)) != EPRO_OK)
            {
                if (epro_error_at(req, a, &w,
                                  "must be a UUID string "
                                  "(8-4-4-4-12 hexadecimal digits)")
                    != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }
            }

            break;

        case EPRO_F_COLLECTED:
            if (epro_check_collected(req, a, m, sub, &w) != EPRO_OK) {
                return EPRO_NOMEM;
            }

            break;

        case EPRO_F_ANSWERS:
            if (epro_check_answers(req, a, m, &w) != EPRO_OK) {
                return EPRO_NOMEM;
            }

            answers = m;
            break;

        default:
            if (value == NULL) {
                if (epro_error_at(req, a, &w, "must be a string") != EPRO_OK) {
                    return EPRO_NOMEM;
                }

                break;
            }

            len = strlen(value);
            chars = epro_utf8_chars(value, len);

            if (chars < 1 || chars > EPRO_MAX_FIELD_CHARS) {
                if (epro_error_at(req, a, &w,
                                  "must be 1 to %d characters long, not %lu",
                                  EPRO_MAX_FIELD_CHARS, (unsigned long) chars)
                    != EPRO_OK)
                {
                    return EPRO_NOMEM;
                }

                break;
            }

            str = (epro_str_t *) ((char *) sub + f->offset);
            str->data = value;
            str->len = len;
        }
    }

    for (i = 0; i < EPRO_NFIELDS; i++) {
        if (epro_fields[i].required && !(seen & (1u << i))) {
            w.key = epro_fields[i].name;

            if (epro_error_at(req, a, &w, "is required") != EPRO_OK) {
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
    epro_submission_t *sub, const epro_where_t *base)
{
    char          ahead[32];
    int64_t       ms;
    epro_where_t  w;

    if (req->now_ms == 0) {
        return EPRO_OK;
    }

    ms = epro_rfc3339_ms(sub->collected, strlen(sub->collected));

    w.up = base;
    w.key = "collectedAt";

    if (req->skew_ms >= 0 && ms > req->now_ms + req->skew_ms) {
        return epro_error_at(req, a, &w,
                             "is %s s ahead of the server's clock, "
                             "more than the %lld s allowed",
                             epro_number(ahead, (ms - req->now_ms) / 1000.0),
                             (long long) (req->skew_ms / 1000));
    }

    if (req->max_age_ms >= 0 && ms < req->now_ms - req->max_age_ms) {
        return epro_error_at(req, a, &w,
                             "is older than the %lld s accepted",
                             (long long) (req->max_age_ms / 1000));
    }

    return EPRO_OK;
}


static int
epro_check_instrument(epro_request_t *req, epro_alloc_t *a,
    epro_submission_t *sub, epro_node_t *answers, const epro_where_t *base)
{
    epro_where_t              w, aw;
    size_t                    i, present;
    const char               *key;
    epro_node_t              *m;
    unsigned char            *seen;
    epro_node_type_e          type;
    const epro_item_t        *item;
    const epro_instrument_t  *in;

    in = epro_instrument_find(req->instruments, sub->instrument.data,
                              sub->instrument.len);

    if (in == NULL) {
        if (req->policy != EPRO_POLICY_STRICT) {
            return EPRO_OK;
        }

        w.up = base;
        w.key = "instrument";

        return epro_error_at(req, a, &w, "unknown instrument \"%.*s\"",
                             (int) sub->instrument.len, sub->instrument.data);
    }

    aw.up = base;
    aw.key = "answers";
    w.up = &aw;

    seen = a->alloc(a->ctx, in->nitems + 1);
    if (seen == NULL) {
        return EPRO_NOMEM;
    }

    memset(seen, 0, in->nitems + 1);
    present = 0;

    for (m = epro_node_child(answers); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        w.key = key;

        item = epro_item_find(in, key, strlen(key));

        if (item == NULL) {
            if (!in->allow_unknown
                && epro_error_at(req, a, &w, "%s: not an item of %.*s",
                                 key, (int) in->code.len, in->code.data)
                   != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        type = epro_node_type(m);

        if (type == EPRO_NODE_NULL
            || (type == EPRO_NODE_ARRAY && epro_node_child(m) == NULL))
        {
            continue;
        }

        i = item - in->items;
        seen[i] = 1;
        present += item->required;

        if (epro_check_item(req, a, item, m, &w) != EPRO_OK) {
            return EPRO_NOMEM;
        }
    }

    if (present == in->nrequired) {
        return EPRO_OK;
    }

    for (i = 0; i < in->nitems; i++) {
        item = &in->items[i];

        if (item->required && !seen[i]) {
            w.key = item->id.data;

            if (epro_error_at(req, a, &w, "%s: is required by %.*s",
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
    const epro_item_t *item, epro_node_t *v, const epro_where_t *w)
{
    int           rc;
    epro_node_t  *e;

    if (epro_node_type(v) != EPRO_NODE_ARRAY) {
        if (item->multiple) {
            return epro_error_at(req, a, w, "%s: must be a list of values",
                                 item->id.data);
        }

        return epro_check_value(req, a, item, v, w);
    }

    if (!item->multiple) {
        return epro_error_at(req, a, w, "%s: takes one value, not a list",
                             item->id.data);
    }

    for (e = epro_node_child(v); e; e = epro_node_next(e)) {
        rc = epro_check_value(req, a, item, e, w);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    return EPRO_OK;
}


static int
epro_check_value(epro_request_t *req, epro_alloc_t *a,
    const epro_item_t *item, epro_node_t *v, const epro_where_t *w)
{
    char                 n1[32], n2[32];
    double               num;
    size_t               i, len;
    const char          *id, *str;
    epro_node_type_e     type;
    const epro_choice_t *c;

    static const char  *names[] = {
        "an integer", "a number", "a string", "true or false",
        "one of the choices", "a date (YYYY-MM-DD)",
        "an RFC 3339 date-time"
    };

    id = item->id.data;
    type = epro_node_type(v);

    if (type == EPRO_NODE_NULL) {
        return EPRO_OK;
    }

    /* a value is read only as the item's type needs it */

    switch (item->type) {

    case EPRO_ITEM_INTEGER:
    case EPRO_ITEM_DECIMAL:
        if (type != EPRO_NODE_NUMBER) {
            break;
        }

        num = epro_node_number(v);

        if (item->type == EPRO_ITEM_INTEGER && num != floor(num)) {
            break;
        }

        if (item->has_min && num < item->min) {
            return epro_error_at(req, a, w, "%s: %s is below the minimum %s",
                                 id, epro_number(n1, num),
                                 epro_number(n2, item->min));
        }

        if (item->has_max && num > item->max) {
            return epro_error_at(req, a, w, "%s: %s is above the maximum %s",
                                 id, epro_number(n1, num),
                                 epro_number(n2, item->max));
        }

        return EPRO_OK;

    case EPRO_ITEM_STRING:
        str = epro_node_string(v);

        if (str == NULL) {
            break;
        }

        len = epro_utf8_chars(str, strlen(str));

        if (item->max_length && len > item->max_length) {
            return epro_error_at(req, a, w,
                                 "%s: %lu characters, at most %lu allowed",
                                 id, (unsigned long) len,
                                 (unsigned long) item->max_length);
        }

        return EPRO_OK;

    case EPRO_ITEM_BOOLEAN:
        if (type != EPRO_NODE_TRUE && type != EPRO_NODE_FALSE) {
            break;
        }

        return EPRO_OK;

    case EPRO_ITEM_CHOICE:
        str = epro_node_string(v);
        num = epro_node_number(v);

        for (i = 0; i < item->nchoices; i++) {
            c = &item->choices[i];

            if (c->str.data
                ? (str != NULL
                   && strlen(str) == c->str.len
                   && memcmp(str, c->str.data, c->str.len) == 0)
                : (type == EPRO_NODE_NUMBER && num == c->num))
            {
                return EPRO_OK;
            }
        }

        return epro_error_at(req, a, w, "%s: not one of the %lu choices",
                             id, (unsigned long) item->nchoices);

    case EPRO_ITEM_DATE:
        str = epro_node_string(v);

        if (str != NULL && epro_date_valid(str, strlen(str)) == EPRO_OK) {
            return EPRO_OK;
        }

        break;

    case EPRO_ITEM_DATETIME:
        str = epro_node_string(v);

        if (str != NULL && epro_rfc3339_valid(str, strlen(str)) == EPRO_OK) {

            return EPRO_OK;
        }

        break;
    }

    return epro_error_at(req, a, w, "%s: must be %s", id, names[item->type]);
}


static int
epro_check_collected(epro_request_t *req, epro_alloc_t *a,
    epro_node_t *item, epro_submission_t *sub, const epro_where_t *w)
{
    size_t       len;
    double       v;
    const char  *str;

    str = epro_node_string(item);

    if (str != NULL) {
        len = strlen(str);

        if (len <= EPRO_TIME_LEN && epro_rfc3339_valid(str, len) == EPRO_OK) {
            memcpy(sub->collected, str, len + 1);
            return EPRO_OK;
        }

    } else if (epro_node_type(item) == EPRO_NODE_NUMBER) {
        v = epro_node_number(item);

        /* 253402300799 is 9999-12-31T23:59:59Z */

        if (v >= 0 && v <= 253402300799.0 && v == floor(v)) {
            epro_unix_to_rfc3339(sub->collected, (int64_t) v, 0);
            return EPRO_OK;
        }
    }

    return epro_error_at(req, a, w,
                         "must be an RFC 3339 timestamp with an offset "
                         "(2026-01-31T08:00:00+01:00) or integer Unix seconds");
}


static int
epro_check_answers(epro_request_t *req, epro_alloc_t *a,
    epro_node_t *answers, const epro_where_t *w)
{
    epro_where_t  vw;
    size_t        n, h, mask, len, chars;
    const char   *key;
    epro_node_t  *m, **table;

    if (epro_node_type(answers) != EPRO_NODE_OBJECT) {
        return epro_error_at(req, a, w, "must be an object of item answers");
    }

    n = epro_node_count(answers);

    if (n == 0 || n > EPRO_MAX_ANSWERS) {
        return epro_error_at(req, a, w, "must have 1 to %d items, not %lu",
                             EPRO_MAX_ANSWERS, (unsigned long) n);
    }

    /* duplicate item ids, found in linear time with a small hash table */

    mask = 1;
    while (mask < n * 2) {
        mask <<= 1;
    }

    table = a->alloc(a->ctx, mask * sizeof(epro_node_t *));
    if (table == NULL) {
        return EPRO_NOMEM;
    }

    memset(table, 0, mask * sizeof(epro_node_t *));
    mask--;

    vw.up = w;

    for (m = epro_node_child(answers); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        vw.key = key;

        len = strlen(key);
        chars = epro_utf8_chars(key, len);

        if (chars < 1 || chars > EPRO_MAX_ITEM_CHARS) {
            if (epro_error_at(req, a, &vw,
                              "item id must be 1 to %d characters long",
                              EPRO_MAX_ITEM_CHARS)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        for (h = epro_hash(key, len) & mask;
             table[h];
             h = (h + 1) & mask)
        {
            if (strcmp(epro_node_key(table[h]), key) == 0) {
                break;
            }
        }

        if (table[h]) {
            if (epro_error_at(req, a, &vw, "duplicate item") != EPRO_OK) {
                return EPRO_NOMEM;
            }

            continue;
        }

        table[h] = m;

        if (epro_check_answer(req, a, m, &vw) != EPRO_OK) {
            return EPRO_NOMEM;
        }
    }

    return EPRO_OK;
}


static int
epro_check_answer(epro_request_t *req, epro_alloc_t *a, epro_node_t *v,
    const epro_where_t *w)
{
    size_t             chars;
    unsigned           array;
    const char        *str;
    epro_node_t       *e;
    epro_node_type_e   type;

    array = (epro_node_type(v) == EPRO_NODE_ARRAY);
    e = array ? epro_node_child(v) : v;

    for ( /* void */ ; e; e = array ? epro_node_next(e) : NULL) {
        str = epro_node_string(e);

        if (str != NULL) {
            chars = epro_utf8_chars(str, strlen(str));

            if (chars > EPRO_MAX_ANSWER_CHARS) {
                return epro_error_at(req, a, w,
                                     "text answer is longer than %d characters",
                                     EPRO_MAX_ANSWER_CHARS);
            }

            continue;
        }

        type = epro_node_type(e);

        if (type == EPRO_NODE_NUMBER || type == EPRO_NODE_TRUE
            || type == EPRO_NODE_FALSE || type == EPRO_NODE_NULL)
        {
            continue;
        }


        return epro_error_at(req, a, w,
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
