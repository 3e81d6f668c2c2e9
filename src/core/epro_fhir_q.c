
/*
 * FHIR R4 Questionnaires: checked, flattened depth first and indexed by
 * linkId when the configuration is read, so that a response's items are
 * each found in constant time.  Also the R4 datatypes both this file and
 * epro_fhir.c check.
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epro_fhir.h"
#include "epro_tree.h"


#define EPRO_FQ_WHERE_MAX  256

#define EPRO_EXT_MIN     "http://hl7.org/fhir/StructureDefinition/minValue"
#define EPRO_EXT_MAX     "http://hl7.org/fhir/StructureDefinition/maxValue"
#define EPRO_EXT_PLACES                                                     \
    "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
#define EPRO_EXT_ORDINAL                                                    \
    "http://hl7.org/fhir/StructureDefinition/ordinalValue"
#define EPRO_EXT_WEIGHT  "http://hl7.org/fhir/StructureDefinition/itemWeight"
#define EPRO_EXT_VARIABLE                                                   \
    "http://hl7.org/fhir/StructureDefinition/variable"
#define EPRO_EXT_CALC                                                       \
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/"                       \
    "sdc-questionnaire-calculatedExpression"


typedef struct epro_fq_ref_s  epro_fq_ref_t;

struct epro_fq_ref_s {
    epro_fq_ref_t      *next;
    epro_fhir_enable_t *enable;
    char               *where;
};


typedef struct {
    epro_fhir_q_t      *q;
    size_t              n;          /* items loaded */
    const epro_node_t  *vars;       /* the Questionnaire's extensions */
    const epro_node_t  *contained;  /* its contained resources */
    epro_fq_ref_t      *refs;       /* enableWhen to resolve at the end */
    char               *err;
    size_t              errlen;
    epro_alloc_t       *a;
} epro_fq_load_t;


static int epro_fq_resource(epro_fhir_set_t *set, const epro_node_t *res,
    const char *where, char *err, size_t errlen, epro_alloc_t *a);
static size_t epro_fq_count(const epro_node_t *items);
static int epro_fq_items(epro_fq_load_t *ld, const epro_node_t *items,
    int32_t parent, const char *where, int multi);
static int epro_fq_item(epro_fq_load_t *ld, const epro_node_t *node,
    int32_t parent, uint32_t pos, const char *where, int multi);
static int epro_fq_extensions(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *ext, const char *where);
static int epro_fq_options(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *list, const char *where);
static int epro_fq_valueset(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *ref, const char *where);
static size_t epro_fq_concepts(epro_fq_load_t *ld, const epro_node_t *vs,
    epro_fhir_option_t *o, const char *where, int *rc);
static int epro_fq_enable(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *list, const char *where);
static int epro_fq_weight(epro_fq_load_t *ld, epro_fhir_option_t *o,
    const epro_node_t *ext, const char *where);
static int epro_fq_sum(const char *expr);
static int epro_fq_total(const epro_node_t *vars, const epro_node_t *item,
    const char *expr);
static const epro_node_t *epro_fq_value_member(const epro_node_t *obj,
    const char *prefix, epro_fhir_kind_e *kind, int *count);
static int epro_fq_string(epro_str_t *out, const epro_node_t *n);
static int epro_fq_index_add(epro_fhir_q_t *q, uint32_t i);
static int epro_fq_set_index(epro_fhir_set_t *set, char *err, size_t errlen,
    epro_alloc_t *a);
static int epro_fq_fail(char *err, size_t errlen, const char *fmt, ...);
static int epro_fq_nomem(char *err, size_t errlen);
static void epro_fq_path(char *out, const char *fmt, ...);
static int epro_fq_digits(const char *s, size_t n, unsigned *v);
static int epro_fq_date(const char *s, size_t len);
static int epro_fq_time(const char *s, size_t len);
static int epro_fq_when(const epro_str_t *a, const epro_str_t *b);
static int64_t epro_fq_utc(const char *s, size_t len, size_t *frac);
static int epro_fq_fraction(const char *a, size_t na, const char *b,
    size_t nb);


static const char *const  epro_fq_types[] = {
    "group", "display", "boolean", "decimal", "integer", "date",
    "dateTime", "time", "string", "text", "url", "choice", "open-choice",
    "quantity", NULL
};

static const char *const  epro_fq_ops[] = {
    "exists", "=", "!=", ">", "<", ">=", "<=", NULL
};

/* the value[x] suffixes, in the order of epro_fhir_kind_e */
static const char *const  epro_fq_kinds[] = {
    "", "Boolean", "Decimal", "Integer", "Date", "DateTime", "Time",
    "String", "Uri", "Coding", "Quantity", "Attachment", "Reference", NULL
};


int
epro_fhir_load(epro_fhir_set_t *set, const char *text, size_t len,
    char *err, size_t errlen, epro_alloc_t *a)
{
    int                 rc;
    char                where[EPRO_FQ_WHERE_MAX];
    char               *copy;
    size_t              i, n0;
    const char         *type;
    epro_node_t        *root;
    epro_request_t      chk;
    const epro_node_t  *entry, *e, *res;

    memset(&chk, 0, sizeof(epro_request_t));
    n0 = set->n;

    if (len == 0) {
        return epro_fq_fail(err, errlen, "the file is empty");
    }

    /* the numbers' texts point into it, and the caller may free text */

    copy = a->alloc(a->ctx, len);
    if (copy == NULL) {
        return epro_fq_nomem(err, errlen);
    }

    memcpy(copy, text, len);
    text = copy;

    rc = epro_json_tree(text, len, &chk, a, &root);

    if (rc == EPRO_NOMEM) {
        return epro_fq_nomem(err, errlen);
    }

    if (rc != EPRO_OK) {
        return epro_fq_fail(err, errlen, "%s%s%s", chk.errors[0].path,
                            chk.errors[0].path[0] ? ": " : "",
                            chk.errors[0].message);
    }

    type = NULL;

    if (epro_node_type(root) == EPRO_NODE_OBJECT) {
        e = epro_node_member(root, "resourceType");
        type = e ? epro_node_string(e) : NULL;
    }

    if (type == NULL) {
        return epro_fq_fail(err, errlen, "/resourceType: must be "
                            "\"Questionnaire\" or \"Bundle\"");
    }

    if (strcmp(type, "Questionnaire") == 0) {
        rc = epro_fq_resource(set, root, "", err, errlen, a);

    } else if (strcmp(type, "Bundle") == 0) {
        entry = epro_node_member(root, "entry");

        if (entry == NULL || epro_node_type(entry) != EPRO_NODE_ARRAY
            || epro_node_child(entry) == NULL)
        {
            return epro_fq_fail(err, errlen, "/entry: must be a non-empty "
                                "array of Questionnaires");
        }

        rc = EPRO_OK;

        for (i = 0, e = epro_node_child(entry);
             e && rc == EPRO_OK;
             i++, e = epro_node_next(e))
        {
            epro_fq_path(where, "/entry/%lu/resource",
                     (unsigned long) i);

            res = (epro_node_type(e) == EPRO_NODE_OBJECT)
                  ? epro_node_member(e, "resource") : NULL;

            if (res == NULL || epro_node_type(res) != EPRO_NODE_OBJECT) {
                rc = epro_fq_fail(err, errlen, "%s: must be an object",
                                  where);
                break;
            }

            rc = epro_fq_resource(set, res, where, err, errlen, a);
        }

    } else {
        return epro_fq_fail(err, errlen, "/resourceType: must be "
                            "\"Questionnaire\" or \"Bundle\"");
    }

    if (rc == EPRO_OK) {
        rc = epro_fq_set_index(set, err, errlen, a);
    }

    if (rc != EPRO_OK) {
        /* the set stays as it was: a failed file adds nothing */
        set->n = n0;
        set->nkeys = 0;

        if (n0 && epro_fq_set_index(set, err + strlen(err), 0, a)
                  != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    return rc;
}


const epro_fhir_q_t *
epro_fhir_find(const epro_fhir_set_t *set, const char *canonical,
    size_t len)
{
    size_t             h;
    const epro_str_t  *k;

    if (set == NULL || set->nkeys == 0) {
        return NULL;
    }

    for (h = epro_hash(canonical, len) & set->mask;
         set->index[h];
         h = (h + 1) & set->mask)
    {
        k = &set->keys[set->index[h] - 1];

        if (k->len == len && memcmp(k->data, canonical, len) == 0) {
            return set->list[set->key_q[set->index[h] - 1]];
        }
    }

    return NULL;
}


const epro_fhir_item_t *
epro_fhir_item(const epro_fhir_q_t *q, const char *link_id, size_t len)
{
    size_t                   h;
    const epro_fhir_item_t  *it;

    for (h = epro_hash(link_id, len) & q->mask;
         q->index[h];
         h = (h + 1) & q->mask)
    {
        it = &q->items[q->index[h] - 1];

        if (it->link_id.len == len
            && memcmp(it->link_id.data, link_id, len) == 0)
        {
            return it;
        }
    }

    return NULL;
}


static int
epro_fq_resource(epro_fhir_set_t *set, const epro_node_t *res,
    const char *where, char *err, size_t errlen, epro_alloc_t *a)
{
    int                 rc;
    char               *c, path[EPRO_FQ_WHERE_MAX];
    size_t              n, size, cap;
    const char         *type;
    epro_fq_ref_t      *r;
    epro_fhir_q_t      *q, **list;
    epro_fq_load_t      ld;
    const epro_node_t  *v, *items;
    epro_fhir_enable_t *en;
    epro_fhir_item_t   *it;

    v = epro_node_member(res, "resourceType");
    type = v ? epro_node_string(v) : NULL;

    if (type == NULL || strcmp(type, "Questionnaire") != 0) {
        return epro_fq_fail(err, errlen, "%s/resourceType: must be "
                            "\"Questionnaire\"", where);
    }

    q = a->alloc(a->ctx, sizeof(epro_fhir_q_t));
    if (q == NULL) {
        return epro_fq_nomem(err, errlen);
    }

    memset(q, 0, sizeof(epro_fhir_q_t));
    q->first = -1;
    q->total = -1;

    v = epro_node_member(res, "url");

    if (v == NULL || epro_fq_string(&q->url, v) != 0
        || epro_fhir_primitive(v, EPRO_FP_URI) != NULL)
    {
        return epro_fq_fail(err, errlen, "%s/url: the canonical url is "
                            "required, a string without white space",
                            where);
    }

    v = epro_node_member(res, "version");

    if (v && epro_fq_string(&q->version, v) != 0) {
        return epro_fq_fail(err, errlen, "%s/version: must be a non-empty "
                            "string", where);
    }

    if (q->version.data) {
        n = q->url.len + 1 + q->version.len;

        c = a->alloc(a->ctx, n + 1);
        if (c == NULL) {
            return epro_fq_nomem(err, errlen);
        }

        memcpy(c, q->url.data, q->url.len);
        c[q->url.len] = '|';
        memcpy(c + q->url.len + 1, q->version.data, q->version.len + 1);
        q->canonical.data = c;
        q->canonical.len = n;

    } else {
        q->canonical = q->url;
    }

    items = epro_node_member(res, "item");

    if (items == NULL || epro_node_type(items) != EPRO_NODE_ARRAY
        || epro_node_child(items) == NULL)
    {
        return epro_fq_fail(err, errlen, "%s/item: must be a non-empty "
                            "array", where);
    }

    n = epro_fq_count(items);

    if (n > EPRO_MAX_ANSWERS) {
        return epro_fq_fail(err, errlen, "%s/item: %lu items, at most %d",
                            where, (unsigned long) n, EPRO_MAX_ANSWERS);
    }

    size = 2;
    while (size < n * 2) {
        size <<= 1;
    }

    q->items = a->alloc(a->ctx, n * sizeof(epro_fhir_item_t));
    q->index = a->alloc(a->ctx, size * sizeof(uint32_t));

    if (q->items == NULL || q->index == NULL) {
        return epro_fq_nomem(err, errlen);
    }

    memset(q->items, 0, n * sizeof(epro_fhir_item_t));
    memset(q->index, 0, size * sizeof(uint32_t));
    q->mask = size - 1;
    q->nitems = n;

    memset(&ld, 0, sizeof(epro_fq_load_t));
    ld.q = q;
    ld.err = err;
    ld.errlen = errlen;
    ld.a = a;
    ld.vars = epro_node_member(res, "extension");
    ld.contained = epro_node_member(res, "contained");

    epro_fq_path(path, "%s/item", where);

    rc = epro_fq_items(&ld, items, -1, path, 0);
    if (rc != EPRO_OK) {
        return rc;
    }

    q->first = 0;

    /* an enableWhen may name an item further down */

    for (r = ld.refs; r; r = r->next) {
        en = r->enable;
        it = (epro_fhir_item_t *) epro_fhir_item(q, en->question.data,
                                                 en->question.len);

        if (it == NULL) {
            return epro_fq_fail(err, errlen, "%s/question: no item has the "
                                "linkId \"%s\"", r->where,
                                en->question.data);
        }

        en->target = (int32_t) (it - q->items);
    }

    if (set->n == set->cap) {
        cap = set->cap ? set->cap * 2 : 8;

        list = a->alloc(a->ctx, cap * sizeof(epro_fhir_q_t *));
        if (list == NULL) {
            return epro_fq_nomem(err, errlen);
        }

        if (set->n) {
            memcpy(list, set->list, set->n * sizeof(epro_fhir_q_t *));
        }

        set->list = list;
        set->cap = cap;
    }

    set->list[set->n++] = q;

    return EPRO_OK;
}


static size_t
epro_fq_count(const epro_node_t *items)
{
    size_t              n;
    const epro_node_t  *e, *sub;

    n = 0;

    for (e = epro_node_child(items); e; e = epro_node_next(e)) {
        n++;

        if (epro_node_type(e) != EPRO_NODE_OBJECT) {
            continue;
        }

        sub = epro_node_member(e, "item");

        if (sub && epro_node_type(sub) == EPRO_NODE_ARRAY) {
            n += epro_fq_count(sub);
        }
    }

    return n;
}


static int
epro_fq_items(epro_fq_load_t *ld, const epro_node_t *items, int32_t parent,
    const char *where, int multi)
{
    int                 rc;
    char                path[EPRO_FQ_WHERE_MAX];
    int32_t             prev, i;
    uint32_t            pos;
    const epro_node_t  *e;

    prev = -1;

    for (pos = 0, e = epro_node_child(items); e; pos++, e = epro_node_next(e))
    {
        epro_fq_path(path, "%s/%lu", where, (unsigned long) pos);

        i = (int32_t) ld->n;

        rc = epro_fq_item(ld, e, parent, pos, path, multi);
        if (rc != EPRO_OK) {
            return rc;
        }

        if (prev >= 0) {
            ld->q->items[prev].next = i;

        } else if (parent >= 0) {
            ld->q->items[parent].first = i;
        }

        prev = i;
    }

    return EPRO_OK;
}


static int
epro_fq_item(epro_fq_load_t *ld, const epro_node_t *node, int32_t parent,
    uint32_t pos, const char *where, int multi)
{
    int                 rc, i;
    char               *key, path[EPRO_FQ_WHERE_MAX];
    size_t              n, plen;
    int32_t             self;
    unsigned            seen;
    const char         *name, *s;
    epro_fhir_item_t   *it, *up;
    const epro_node_t  *m, *v, *vs, *sub;

    static const char *const  members[] = {
        "id", "extension", "modifierExtension", "linkId", "definition",
        "code", "prefix", "text", "type", "enableWhen", "enableBehavior",
        "required", "repeats", "readOnly", "maxLength", "answerValueSet",
        "answerOption", "initial", "item", NULL
    };

    enum {
        M_EXT = 1, M_MODEXT = 2, M_LINKID = 3, M_TEXT = 7, M_TYPE = 8,
        M_ENABLE = 9, M_BEHAVIOR = 10, M_REQUIRED = 11, M_REPEATS = 12,
        M_READONLY = 13, M_MAXLEN = 14, M_VALUESET = 15, M_OPTION = 16,
        M_ITEM = 18
    };

    if (epro_node_type(node) != EPRO_NODE_OBJECT) {
        return epro_fq_fail(ld->err, ld->errlen, "%s: must be an object",
                            where);
    }

    self = (int32_t) ld->n++;
    it = &ld->q->items[self];
    it->parent = parent;
    it->depth = (parent >= 0) ? ld->q->items[parent].depth + 1 : 0;
    it->first = -1;
    it->next = -1;
    it->pos = pos;
    it->max_places = -1;

    seen = 0;

    for (m = epro_node_child(node); m; m = epro_node_next(m)) {
        name = epro_node_key(m);

        /* _text and the like: primitive extensions (rendering-xhtml) */
        if (name[0] == '_') {
            continue;
        }

        i = epro_fhir_name(members, name);

        if (i < 0) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/%s: unknown "
                                "element", where, name);
        }

        if (seen & (1u << i)) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/%s: duplicate "
                                "element", where, name);
        }

        seen |= 1u << i;
    }

    v = epro_node_member(node, "linkId");

    if (v == NULL || epro_fq_string(&it->link_id, v) != 0
        || epro_utf8_chars(it->link_id.data, it->link_id.len)
           > EPRO_FHIR_MAX_LINKID)
    {
        return epro_fq_fail(ld->err, ld->errlen, "%s/linkId: required, a "
                            "string of 1 to %d characters", where,
                            EPRO_FHIR_MAX_LINKID);
    }

    rc = epro_fq_index_add(ld->q, (uint32_t) self);

    if (rc == EPRO_NOMEM) {
        return epro_fq_nomem(ld->err, ld->errlen);
    }

    if (rc != EPRO_OK) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/linkId: \"%s\" is the "
                            "linkId of an earlier item", where,
                            it->link_id.data);
    }

    v = epro_node_member(node, "type");
    s = v ? epro_node_string(v) : NULL;
    i = s ? epro_fhir_name(epro_fq_types, s) : -1;

    if (i < 0) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/type: must be one of "
                            "group, display, boolean, decimal, integer, "
                            "date, dateTime, time, string, text, url, "
                            "choice, open-choice, quantity", where);
    }

    it->type = (epro_fhir_type_e) i;

    if (seen & (1u << M_MODEXT)) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/modifierExtension: "
                            "not supported", where);
    }

    v = epro_node_member(node, "text");

    if (v && epro_fq_string(&it->text, v) != 0) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/text: must be a "
                            "non-empty string", where);
    }

    for (i = M_REQUIRED; i <= M_READONLY; i++) {
        if (!(seen & (1u << i))) {
            continue;
        }

        v = epro_node_member(node, members[i]);

        if (epro_fhir_primitive(v, EPRO_FP_BOOLEAN) != NULL) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/%s: must be true "
                                "or false", where, members[i]);
        }

        if (epro_node_type(v) == EPRO_NODE_TRUE) {
            if (i == M_REQUIRED) {
                it->required = 1;

            } else if (i == M_REPEATS) {
                it->repeats = 1;

            } else {
                it->read_only = 1;
            }
        }
    }

    if (it->type == EPRO_FHIR_DISPLAY && (it->required || it->repeats)) {
        return epro_fq_fail(ld->err, ld->errlen, "%s: a display item is "
                            "neither required nor repeats (que-6)", where);
    }

    it->multi = multi || it->repeats;

    v = epro_node_member(node, "maxLength");

    if (v) {
        if (epro_fhir_primitive(v, EPRO_FP_INTEGER) != NULL
            || epro_node_number(v) < 1)
        {
            return epro_fq_fail(ld->err, ld->errlen, "%s/maxLength: must "
                                "be a positive integer", where);
        }

        if (it->type != EPRO_FHIR_STRING && it->type != EPRO_FHIR_TEXT
            && it->type != EPRO_FHIR_URL
            && it->type != EPRO_FHIR_OPEN_CHOICE)
        {
            return epro_fq_fail(ld->err, ld->errlen, "%s/maxLength: only "
                                "for string, text, url and open-choice "
                                "items", where);
        }

        it->max_length = (size_t) epro_node_number(v);
    }

    v = epro_node_member(node, "answerOption");
    vs = epro_node_member(node, "answerValueSet");

    if (v && vs) {
        return epro_fq_fail(ld->err, ld->errlen, "%s: answerOption or "
                            "answerValueSet, not both (que-4)", where);
    }

    if (vs) {
        v = vs;
    }

    if ((it->type == EPRO_FHIR_CHOICE) != (v != NULL)
        && !(it->type == EPRO_FHIR_OPEN_CHOICE && v))
    {
        return epro_fq_fail(ld->err, ld->errlen, "%s/%s: %s", where,
                            vs ? "answerValueSet" : "answerOption",
                            v ? "only for choice and open-choice "
                                "items (que-5)"
                              : "required for a choice item");
    }

    if (vs) {
        epro_fq_path(path, "%s/answerValueSet", where);

        rc = epro_fq_valueset(ld, it, vs, path);
        if (rc != EPRO_OK) {
            return rc;
        }

    } else if (v) {
        epro_fq_path(path, "%s/answerOption", where);

        rc = epro_fq_options(ld, it, v, path);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    v = epro_node_member(node, "enableWhen");

    if (v) {
        epro_fq_path(path, "%s/enableWhen", where);

        rc = epro_fq_enable(ld, it, v, path);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    v = epro_node_member(node, "enableBehavior");

    if (v) {
        s = epro_node_string(v);

        if (s == NULL || (strcmp(s, "all") != 0 && strcmp(s, "any") != 0)) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/enableBehavior: "
                                "must be \"all\" or \"any\"", where);
        }

        it->enable_any = (s[1] == 'n');

    } else if (it->nenable > 1) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/enableBehavior: "
                            "required with more than one enableWhen "
                            "(que-12)", where);
    }

    v = epro_node_member(node, "extension");

    if (v) {
        epro_fq_path(path, "%s/extension", where);

        rc = epro_fq_extensions(ld, it, v, path);
        if (rc != EPRO_OK) {
            return rc;
        }
    }

    /* the key of the flattened answers: the ancestors' linkIds first */

    up = (parent >= 0) ? &ld->q->items[parent] : NULL;
    plen = up ? up->key.len + 1 : 0;
    n = plen + it->link_id.len;

    key = ld->a->alloc(ld->a->ctx, n + 1);
    if (key == NULL) {
        return epro_fq_nomem(ld->err, ld->errlen);
    }

    if (up) {
        memcpy(key, up->key.data, up->key.len);
        key[up->key.len] = EPRO_FHIR_KEY_SEP;
    }

    memcpy(key + plen, it->link_id.data, it->link_id.len + 1);
    it->key.data = key;
    it->key.len = n;

    sub = epro_node_member(node, "item");

    if (sub == NULL) {
        if (it->type == EPRO_FHIR_GROUP) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/item: a group has "
                                "items (que-1)", where);
        }

        return EPRO_OK;
    }

    if (epro_node_type(sub) != EPRO_NODE_ARRAY
        || epro_node_child(sub) == NULL)
    {
        return epro_fq_fail(ld->err, ld->errlen, "%s/item: must be a "
                            "non-empty array", where);
    }

    if (it->type == EPRO_FHIR_DISPLAY) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/item: a display item "
                            "has no items (que-1)", where);
    }

    epro_fq_path(path, "%s/item", where);

    return epro_fq_items(ld, sub, self, path, it->multi);
}


static int
epro_fq_extensions(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *ext, const char *where)
{
    int                  count;
    char                 path[EPRO_FQ_WHERE_MAX];
    size_t               k;
    const char          *url, *msg, *expr;
    epro_fhir_type_e     t;
    epro_fhir_kind_e     kind;
    epro_fhir_value_t   *val;
    const epro_node_t   *e, *v, *x;

    msg = epro_fhir_extensions(ext);

    if (msg != NULL) {
        return epro_fq_fail(ld->err, ld->errlen, "%s: %s", where, msg);
    }

    t = it->type;

    for (k = 0, e = epro_node_child(ext); e; k++, e = epro_node_next(e)) {
        epro_fq_path(path, "%s/%lu", where, (unsigned long) k);
        url = epro_node_string(epro_node_member(e, "url"));
        v = epro_fq_value_member(e, "value", &kind, &count);

        if (strcmp(url, EPRO_EXT_MIN) == 0 || strcmp(url, EPRO_EXT_MAX) == 0)
        {
            val = (strcmp(url, EPRO_EXT_MIN) == 0) ? &it->min : &it->max;

            if (count != 1
                || epro_fhir_value(v, kind, val, NULL) != NULL
                || !((t == EPRO_FHIR_INTEGER && kind == EPRO_FV_INTEGER)
                     || (t == EPRO_FHIR_DECIMAL
                         && (kind == EPRO_FV_DECIMAL
                             || kind == EPRO_FV_INTEGER))
                     || (t == EPRO_FHIR_DATE && kind == EPRO_FV_DATE)
                     || (t == EPRO_FHIR_DATETIME
                         && (kind == EPRO_FV_DATETIME
                             || kind == EPRO_FV_DATE))
                     || (t == EPRO_FHIR_TIME && kind == EPRO_FV_TIME)))
            {
                return epro_fq_fail(ld->err, ld->errlen, "%s: minValue and "
                                    "maxValue take one value of the item's "
                                    "type (integer, decimal, date, "
                                    "dateTime, time)", path);
            }

            continue;
        }

        if (strcmp(url, EPRO_EXT_PLACES) == 0) {
            if (count != 1 || kind != EPRO_FV_INTEGER
                || epro_fhir_primitive(v, EPRO_FP_INTEGER) != NULL
                || epro_node_number(v) < 0
                || (t != EPRO_FHIR_DECIMAL && t != EPRO_FHIR_QUANTITY))
            {
                return epro_fq_fail(ld->err, ld->errlen, "%s: "
                                    "maxDecimalPlaces takes a valueInteger "
                                    "of 0 or more, on a decimal or "
                                    "quantity item", path);
            }

            it->max_places = (int) epro_node_number(v);
            continue;
        }

        if (strcmp(url, EPRO_EXT_CALC) == 0) {
            x = (kind == EPRO_FV_NONE && v) ? epro_node_member(v,
                                                              "expression")
                                            : NULL;
            expr = x ? epro_node_string(x) : NULL;

            if (v == NULL || x == NULL || expr == NULL) {
                return epro_fq_fail(ld->err, ld->errlen, "%s: "
                                    "calculatedExpression takes a "
                                    "valueExpression with an expression",
                                    path);
            }

            /* a sum of the answers' weights: the score; others ignored */

            if (ld->q->total < 0 && epro_fq_total(ld->vars, ext, expr)) {
                ld->q->total = (int32_t) (it - ld->q->items);
            }
        }
    }

    if (it->min.kind != EPRO_FV_NONE && it->max.kind != EPRO_FV_NONE
        && epro_fhir_compare(&it->min, &it->max) == 1)
    {
        return epro_fq_fail(ld->err, ld->errlen, "%s: maxValue is below "
                            "minValue", where);
    }

    return EPRO_OK;
}


/* "value" + one of the kinds: the member, its kind and how many there are */

static const epro_node_t *
epro_fq_value_member(const epro_node_t *obj, const char *prefix,
    epro_fhir_kind_e *kind, int *count)
{
    size_t              n;
    const char         *key;
    const epro_node_t  *m, *found;
    epro_fhir_kind_e    k;

    found = NULL;
    *count = 0;
    *kind = EPRO_FV_NONE;
    n = strlen(prefix);

    for (m = epro_node_child(obj); m; m = epro_node_next(m)) {
        key = epro_node_key(m);

        if (strncmp(key, prefix, n) != 0) {
            continue;
        }

        k = epro_fhir_kind(key, prefix);
        (*count)++;

        if (found == NULL) {
            found = m;
            *kind = k;
        }
    }

    return found;
}


static int
epro_fq_options(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *list, const char *where)
{
    int                  rc, count;
    char                 path[EPRO_FQ_WHERE_MAX];
    size_t               k;
    const char          *msg, *member, *key;
    epro_fhir_kind_e     kind;
    epro_fhir_option_t  *o;
    const epro_node_t   *e, *v, *m;

    static const char *const  members[] = {
        "id", "extension", "modifierExtension", "valueInteger", "valueDate",
        "valueTime", "valueString", "valueCoding", "initialSelected", NULL
    };

    if (epro_node_type(list) != EPRO_NODE_ARRAY
        || epro_node_child(list) == NULL)
    {
        return epro_fq_fail(ld->err, ld->errlen, "%s: must be a non-empty "
                            "array", where);
    }

    for (k = 0, e = epro_node_child(list); e; e = epro_node_next(e)) {
        k++;
    }

    it->options = ld->a->alloc(ld->a->ctx, k * sizeof(epro_fhir_option_t));
    if (it->options == NULL) {
        return epro_fq_nomem(ld->err, ld->errlen);
    }

    memset(it->options, 0, k * sizeof(epro_fhir_option_t));
    it->noptions = k;

    for (k = 0, e = epro_node_child(list); e; k++, e = epro_node_next(e)) {
        epro_fq_path(path, "%s/%lu", where, (unsigned long) k);
        o = &it->options[k];

        if (epro_node_type(e) != EPRO_NODE_OBJECT) {
            return epro_fq_fail(ld->err, ld->errlen, "%s: must be an "
                                "object", path);
        }

        for (m = epro_node_child(e); m; m = epro_node_next(m)) {
            key = epro_node_key(m);

            if (key[0] != '_' && epro_fhir_name(members, key) < 0) {
                return epro_fq_fail(ld->err, ld->errlen, "%s/%s: unknown "
                                    "element", path, key);
            }
        }

        if (epro_node_member(e, "modifierExtension")) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/modifierExtension: "
                                "not supported", path);
        }

        v = epro_fq_value_member(e, "value", &kind, &count);

        if (count != 1) {
            return epro_fq_fail(ld->err, ld->errlen, "%s: one of "
                                "valueInteger, valueDate, valueTime, "
                                "valueString, valueCoding is required",
                                path);
        }

        member = NULL;
        msg = epro_fhir_value(v, kind, &o->value, &member);

        if (msg != NULL) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/%s%s%s: %s", path,
                                epro_node_key(v), member ? "/" : "",
                                member ? member : "", msg);
        }

        if (kind == EPRO_FV_CODING && o->value.str.data == NULL) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/valueCoding/code: "
                                "required", path);
        }

        rc = epro_fq_weight(ld, o, epro_node_member(e, "extension"), path);

        if (rc == EPRO_OK && kind == EPRO_FV_CODING) {
            rc = epro_fq_weight(ld, o, epro_node_member(v, "extension"),
                                path);
        }

        if (rc != EPRO_OK) {
            return rc;
        }

        v = epro_node_member(e, "initialSelected");

        if (v && epro_fhir_primitive(v, EPRO_FP_BOOLEAN) != NULL) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/initialSelected: "
                                "must be true or false", path);
        }
    }

    return EPRO_OK;
}


/*
 * answerValueSet "#id": a ValueSet contained in the Questionnaire, as
 * LOINC's and LHC-Forms' PHQ-9 have them, its codes listed in
 * expansion.contains or compose.include[].concept (weights as on an
 * answerOption).  Nothing is expanded: other ValueSets are refused.
 */

static int
epro_fq_valueset(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *ref, const char *where)
{
    int                 rc;
    size_t              n;
    const char         *s, *id, *type;
    const epro_node_t  *e, *v;

    s = epro_node_string(ref);

    if (s == NULL || s[0] != '#' || s[1] == '\0') {
        return epro_fq_fail(ld->err, ld->errlen, "%s: only a contained "
                            "ValueSet (\"#id\") is supported; or list the "
                            "answers in answerOption", where);
    }

    for (e = ld->contained ? epro_node_child(ld->contained) : NULL;
         e;
         e = epro_node_next(e))
    {
        if (epro_node_type(e) != EPRO_NODE_OBJECT) {
            continue;
        }

        v = epro_node_member(e, "resourceType");
        type = v ? epro_node_string(v) : NULL;
        v = epro_node_member(e, "id");
        id = v ? epro_node_string(v) : NULL;

        if (type && id && strcmp(type, "ValueSet") == 0
            && strcmp(id, s + 1) == 0)
        {
            break;
        }
    }

    if (e == NULL) {
        return epro_fq_fail(ld->err, ld->errlen, "%s: no ValueSet \"%s\" "
                            "in contained", where, s + 1);
    }

    rc = EPRO_OK;
    n = epro_fq_concepts(ld, e, NULL, where, &rc);

    if (rc != EPRO_OK) {
        return rc;
    }

    if (n == 0) {
        return epro_fq_fail(ld->err, ld->errlen, "%s: the ValueSet \"%s\" "
                            "lists no code (expansion.contains or "
                            "compose.include.concept)", where, s + 1);
    }

    it->options = ld->a->alloc(ld->a->ctx, n * sizeof(epro_fhir_option_t));
    if (it->options == NULL) {
        return epro_fq_nomem(ld->err, ld->errlen);
    }

    memset(it->options, 0, n * sizeof(epro_fhir_option_t));
    it->noptions = n;

    (void) epro_fq_concepts(ld, e, it->options, where, &rc);

    return rc;
}


/* counts the codes (o NULL) or fills the options with them */

static size_t
epro_fq_concepts(epro_fq_load_t *ld, const epro_node_t *vs,
    epro_fhir_option_t *o, const char *where, int *rc)
{
    int                 k;
    size_t              n;
    const char         *sys, *code;
    const epro_node_t  *list, *inc, *c, *v, *concepts;

    n = 0;

    for (k = 0; k < 2 && n == 0; k++) {
        v = epro_node_member(vs, k ? "compose" : "expansion");
        list = v ? epro_node_member(v, k ? "include" : "contains") : NULL;

        if (list == NULL || epro_node_type(list) != EPRO_NODE_ARRAY) {
            continue;
        }

        for (inc = epro_node_child(list); inc; inc = epro_node_next(inc)) {
            if (epro_node_type(inc) != EPRO_NODE_OBJECT) {
                continue;
            }

            v = epro_node_member(inc, "system");
            sys = v ? epro_node_string(v) : NULL;

            /* expansion.contains: each a code; compose.include: a list */

            concepts = k ? epro_node_member(inc, "concept") : NULL;

            if (k && (concepts == NULL
                      || epro_node_type(concepts) != EPRO_NODE_ARRAY))
            {
                continue;
            }

            for (c = k ? epro_node_child(concepts) : inc;
                 c;
                 c = k ? epro_node_next(c) : NULL)
            {
                v = (epro_node_type(c) == EPRO_NODE_OBJECT)
                    ? epro_node_member(c, "code") : NULL;
                code = v ? epro_node_string(v) : NULL;

                if (code == NULL || code[0] == '\0') {
                    continue;
                }

                if (o) {
                    o[n].value.kind = EPRO_FV_CODING;
                    o[n].value.str.data = code;
                    o[n].value.str.len = strlen(code);

                    if (sys && sys[0]) {
                        o[n].value.system.data = sys;
                        o[n].value.system.len = strlen(sys);
                    }

                    *rc = epro_fq_weight(ld, &o[n],
                                         epro_node_member(c, "extension"),
                                         where);
                    if (*rc != EPRO_OK) {
                        return n;
                    }
                }

                n++;
            }
        }
    }

    return n;
}


static int
epro_fq_weight(epro_fq_load_t *ld, epro_fhir_option_t *o,
    const epro_node_t *ext, const char *where)
{
    int                 count;
    const char         *url, *msg;
    epro_fhir_kind_e    kind;
    const epro_node_t  *e, *v;

    if (ext == NULL) {
        return EPRO_OK;
    }

    msg = epro_fhir_extensions(ext);

    if (msg != NULL) {
        return epro_fq_fail(ld->err, ld->errlen, "%s/extension: %s", where,
                            msg);
    }

    for (e = epro_node_child(ext); e; e = epro_node_next(e)) {
        url = epro_node_string(epro_node_member(e, "url"));

        if (strcmp(url, EPRO_EXT_ORDINAL) != 0
            && strcmp(url, EPRO_EXT_WEIGHT) != 0)
        {
            continue;
        }

        v = epro_fq_value_member(e, "value", &kind, &count);

        if (count != 1
            || (kind != EPRO_FV_DECIMAL && kind != EPRO_FV_INTEGER)
            || epro_fhir_primitive(v, kind == EPRO_FV_INTEGER
                                      ? EPRO_FP_INTEGER : EPRO_FP_DECIMAL)
               != NULL)
        {
            return epro_fq_fail(ld->err, ld->errlen, "%s: a weight "
                                "(ordinalValue, itemWeight) takes a "
                                "valueDecimal", where);
        }

        o->weight = epro_node_number(v);
        o->has_weight = 1;
    }

    return EPRO_OK;
}


static int
epro_fq_enable(epro_fq_load_t *ld, epro_fhir_item_t *it,
    const epro_node_t *list, const char *where)
{
    int                  i, count;
    char                 path[EPRO_FQ_WHERE_MAX];
    size_t               k, n;
    const char          *s, *msg, *member, *key;
    epro_fq_ref_t       *r;
    epro_fhir_kind_e     kind;
    epro_fhir_enable_t  *en;
    const epro_node_t   *e, *v, *m;

    static const char *const  members[] = {
        "id", "extension", "modifierExtension", "question", "operator",
        NULL
    };

    if (epro_node_type(list) != EPRO_NODE_ARRAY
        || epro_node_child(list) == NULL)
    {
        return epro_fq_fail(ld->err, ld->errlen, "%s: must be a non-empty "
                            "array", where);
    }

    for (n = 0, e = epro_node_child(list); e; e = epro_node_next(e)) {
        n++;
    }

    it->enable = ld->a->alloc(ld->a->ctx, n * sizeof(epro_fhir_enable_t));
    if (it->enable == NULL) {
        return epro_fq_nomem(ld->err, ld->errlen);
    }

    memset(it->enable, 0, n * sizeof(epro_fhir_enable_t));
    it->nenable = n;

    for (k = 0, e = epro_node_child(list); e; k++, e = epro_node_next(e)) {
        epro_fq_path(path, "%s/%lu", where, (unsigned long) k);
        en = &it->enable[k];

        if (epro_node_type(e) != EPRO_NODE_OBJECT) {
            return epro_fq_fail(ld->err, ld->errlen, "%s: must be an "
                                "object", path);
        }

        for (m = epro_node_child(e); m; m = epro_node_next(m)) {
            key = epro_node_key(m);

            if (epro_fhir_name(members, key) < 0
                && strncmp(key, "answer", 6) != 0)
            {
                return epro_fq_fail(ld->err, ld->errlen, "%s/%s: unknown "
                                    "element", path, key);
            }
        }

        v = epro_node_member(e, "question");

        if (v == NULL || epro_fq_string(&en->question, v) != 0) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/question: "
                                "required, a linkId", path);
        }

        v = epro_node_member(e, "operator");
        s = v ? epro_node_string(v) : NULL;
        i = s ? epro_fhir_name(epro_fq_ops, s) : -1;

        if (i < 0) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/operator: must be "
                                "one of exists, =, !=, >, <, >=, <=", path);
        }

        en->op = (epro_fhir_op_e) i;

        v = epro_fq_value_member(e, "answer", &kind, &count);

        if (count != 1 || kind == EPRO_FV_NONE || kind == EPRO_FV_URI
            || kind == EPRO_FV_ATTACHMENT)
        {
            return epro_fq_fail(ld->err, ld->errlen, "%s: one answer[x] is "
                                "required (Boolean, Decimal, Integer, Date, "
                                "DateTime, Time, String, Coding, Quantity, "
                                "Reference)", path);
        }

        if (en->op == EPRO_FHIR_EXISTS && kind != EPRO_FV_BOOLEAN) {
            return epro_fq_fail(ld->err, ld->errlen, "%s: exists takes an "
                                "answerBoolean (que-7)", path);
        }

        member = NULL;
        msg = epro_fhir_value(v, kind, &en->answer, &member);

        if (msg != NULL) {
            return epro_fq_fail(ld->err, ld->errlen, "%s/%s%s%s: %s", path,
                                epro_node_key(v), member ? "/" : "",
                                member ? member : "", msg);
        }

        /* the question's item is known once the whole list is read */

        en->target = -1;

        r = ld->a->alloc(ld->a->ctx, sizeof(epro_fq_ref_t));
        n = strlen(path);
        s = ld->a->alloc(ld->a->ctx, n + 1);

        if (r == NULL || s == NULL) {
            return epro_fq_nomem(ld->err, ld->errlen);
        }

        r->where = (char *) s;
        memcpy(r->where, path, n + 1);
        r->enable = en;
        r->next = ld->refs;
        ld->refs = r;

        if (en->question.len == it->link_id.len
            && memcmp(en->question.data, it->link_id.data, it->link_id.len)
               == 0)
        {
            return epro_fq_fail(ld->err, ld->errlen, "%s/question: an item "
                                "cannot depend on itself", path);
        }
    }

    return EPRO_OK;
}


/*
 * The scores US Core and LHC-Forms publish (PHQ-9, GAD-7) sum the answers'
 * weights: "%resource.item.answer.value.ordinal().sum()", the same with
 * weight(), or an iif() over a variable that does.
 */

static int
epro_fq_sum(const char *expr)
{
    return strstr(expr, ".sum()") != NULL
           && (strstr(expr, ".ordinal()") != NULL
               || strstr(expr, "weight()") != NULL);
}


static int
epro_fq_total(const epro_node_t *vars, const epro_node_t *item,
    const char *expr)
{
    int                 k;
    size_t              n;
    const char         *name, *x, *p;
    const epro_node_t  *list, *e, *v;

    if (epro_fq_sum(expr)) {
        return 1;
    }

    /* a %variable of the item or of the Questionnaire that sums */

    for (k = 0; k < 2; k++) {
        list = k ? vars : item;

        if (list == NULL || epro_node_type(list) != EPRO_NODE_ARRAY) {
            continue;
        }

        for (e = epro_node_child(list); e; e = epro_node_next(e)) {
            if (epro_node_type(e) != EPRO_NODE_OBJECT) {
                continue;
            }

            v = epro_node_member(e, "url");

            if (v == NULL || epro_node_string(v) == NULL
                || strcmp(epro_node_string(v), EPRO_EXT_VARIABLE) != 0)
            {
                continue;
            }

            v = epro_node_member(e, "valueExpression");

            if (v == NULL || epro_node_type(v) != EPRO_NODE_OBJECT) {
                continue;
            }

            name = epro_node_string(epro_node_member(v, "name")
                                    ? epro_node_member(v, "name") : v);
            x = epro_node_string(epro_node_member(v, "expression")
                                 ? epro_node_member(v, "expression") : v);

            if (name == NULL || x == NULL || !epro_fq_sum(x)) {
                continue;
            }

            n = strlen(name);

            for (p = strchr(expr, '%'); p; p = strchr(p + 1, '%')) {
                if (strncmp(p + 1, name, n) == 0
                    && !((p[n + 1] >= 'a' && p[n + 1] <= 'z')
                         || (p[n + 1] >= 'A' && p[n + 1] <= 'Z')
                         || (p[n + 1] >= '0' && p[n + 1] <= '9')
                         || p[n + 1] == '_'))
                {
                    return 1;
                }
            }
        }
    }

    return 0;
}


static int
epro_fq_string(epro_str_t *out, const epro_node_t *n)
{
    const char  *s;

    s = epro_node_string(n);

    if (s == NULL || s[0] == '\0') {
        return -1;
    }

    out->data = s;
    out->len = strlen(s);

    return 0;
}


static int
epro_fq_index_add(epro_fhir_q_t *q, uint32_t i)
{
    size_t             h;
    const epro_str_t  *k, *o;

    k = &q->items[i].link_id;

    for (h = epro_hash(k->data, k->len) & q->mask;
         q->index[h];
         h = (h + 1) & q->mask)
    {
        o = &q->items[q->index[h] - 1].link_id;

        if (o->len == k->len && memcmp(o->data, k->data, k->len) == 0) {
            return EPRO_ERROR;
        }
    }

    q->index[h] = i + 1;

    return EPRO_OK;
}


/* every canonical, then every url that has a version: the last one wins */

static int
epro_fq_set_index(epro_fhir_set_t *set, char *err, size_t errlen,
    epro_alloc_t *a)
{
    size_t              i, h, n, size, pass;
    uint32_t           *t;
    const epro_str_t   *k, *o;
    const epro_fhir_q_t *q;

    n = set->n * 2;

    size = 2;
    while (size < n * 2) {
        size <<= 1;
    }

    t = a->alloc(a->ctx, size * sizeof(uint32_t));
    set->keys = a->alloc(a->ctx, n * sizeof(epro_str_t));
    set->key_q = a->alloc(a->ctx, n * sizeof(uint32_t));

    if (t == NULL || set->keys == NULL || set->key_q == NULL) {
        return epro_fq_nomem(err, errlen);
    }

    memset(t, 0, size * sizeof(uint32_t));
    set->nkeys = 0;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < set->n; i++) {
            q = set->list[i];
            k = pass ? &q->url : &q->canonical;

            if (pass && q->version.data == NULL) {
                continue;
            }

            for (h = epro_hash(k->data, k->len) & (size - 1);
                 t[h];
                 h = (h + 1) & (size - 1))
            {
                o = &set->keys[t[h] - 1];

                if (o->len == k->len
                    && memcmp(o->data, k->data, k->len) == 0)
                {
                    break;
                }
            }

            if (t[h] && pass == 0) {
                return epro_fq_fail(err, errlen, "the Questionnaire "
                                    "\"%.*s\" is loaded twice",
                                    (int) k->len, k->data);
            }

            if (t[h]) {
                /* a url without a version finds its last version, or the
                 * one loaded without a version if there is one */
                if (set->list[set->key_q[t[h] - 1]]->version.data) {
                    set->key_q[t[h] - 1] = (uint32_t) i;
                }

                continue;
            }

            set->keys[set->nkeys] = *k;
            set->key_q[set->nkeys] = (uint32_t) i;
            t[h] = (uint32_t) ++set->nkeys;
        }
    }

    set->index = t;
    set->mask = size - 1;

    return EPRO_OK;
}


static int
epro_fq_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (errlen) {
        va_start(args, fmt);
        vsnprintf(err, errlen, fmt, args);
        va_end(args);
    }

    return EPRO_ERROR;
}


/* a JSON Pointer, cut at EPRO_FQ_WHERE_MAX */

static void
epro_fq_path(char *out, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(out, EPRO_FQ_WHERE_MAX, fmt, args);
    va_end(args);
}


static int
epro_fq_nomem(char *err, size_t errlen)
{
    if (errlen) {
        snprintf(err, errlen, "out of memory");
    }

    return EPRO_NOMEM;
}


/* ------------------------------------------------------------------ */
/* the R4 datatypes                                                    */


int
epro_fhir_name(const char *const *names, const char *key)
{
    int  i;

    /* most keys differ from most names in their first byte */

    for (i = 0; names[i]; i++) {
        if (names[i][0] == key[0] && strcmp(names[i], key) == 0) {
            return i;
        }
    }

    return -1;
}


epro_fhir_kind_e
epro_fhir_kind(const char *key, const char *prefix)
{
    int     i;
    size_t  n;

    if (key[0] != prefix[0]) {
        return EPRO_FV_NONE;
    }

    n = strlen(prefix);

    if (strncmp(key, prefix, n) != 0) {
        return EPRO_FV_NONE;
    }

    i = epro_fhir_name(epro_fq_kinds + 1, key + n);

    return (i < 0) ? EPRO_FV_NONE : (epro_fhir_kind_e) (i + 1);
}


const char *
epro_fhir_primitive(const epro_node_t *n, epro_fhir_prim_e p)
{
    size_t       i, k, len;
    double       d;
    const char  *s;

    switch (p) {

    case EPRO_FP_BOOLEAN:
        return (epro_node_type(n) == EPRO_NODE_TRUE
                || epro_node_type(n) == EPRO_NODE_FALSE)
               ? NULL : "must be true or false";

    case EPRO_FP_DECIMAL:
        return (epro_node_type(n) == EPRO_NODE_NUMBER)
               ? NULL : "must be a number";

    case EPRO_FP_INTEGER:
    case EPRO_FP_UNSIGNED:
        if (epro_node_type(n) != EPRO_NODE_NUMBER) {
            return "must be an integer (32 bits)";
        }

        /*
         * R4: [0]|[-+]?[1-9][0-9]* as written, so "1.0", "1e2" and "-0"
         * are not integers though their doubles are
         */

        s = epro_node_text(n, &len);

        if (s != NULL) {
            i = (s[0] == '-');

            if (len == i || (s[i] == '0' && len != 1)) {
                return "must be an integer (32 bits, no fraction or "
                       "exponent)";
            }

            for ( /* void */ ; i < len; i++) {
                if (s[i] < '0' || s[i] > '9') {
                    return "must be an integer (32 bits, no fraction or "
                           "exponent)";
                }
            }
        }

        d = epro_node_number(n);

        if (p == EPRO_FP_UNSIGNED && d < 0) {
            return "must be an unsignedInt (not negative)";
        }

        return (d == floor(d) && d >= -2147483648.0 && d <= 2147483647.0)
               ? NULL : "must be an integer (32 bits)";

    case EPRO_FP_OBJECT:
        return (epro_node_type(n) == EPRO_NODE_OBJECT
                && epro_node_child(n) != NULL)
               ? NULL : "must be a non-empty object";

    case EPRO_FP_ARRAY:
        return (epro_node_type(n) == EPRO_NODE_ARRAY
                && epro_node_child(n) != NULL)
               ? NULL : "must be a non-empty array";

    default:
        break;
    }

    s = epro_node_string(n);

    if (s == NULL || s[0] == '\0') {
        return "must be a non-empty string";
    }

    len = strlen(s);

    switch (p) {

    case EPRO_FP_URI:
        for (i = 0; i < len; i++) {
            if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            {
                return "must be a uri (no white space)";
            }
        }

        return NULL;

    case EPRO_FP_CODE:
        for (i = 0; i < len; i++) {
            if ((s[i] == ' ' && (i == 0 || i == len - 1 || s[i + 1] == ' '))
                || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            {
                return "must be a code (no leading, trailing or repeated "
                       "white space)";
            }
        }

        return NULL;

    case EPRO_FP_ID:
        for (i = 0; i < len; i++) {
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
                  || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
                  || s[i] == '.'))
            {
                break;
            }
        }

        return (i == len && len <= 64)
               ? NULL : "must be an id (1 to 64 of A-Z, a-z, 0-9, -, .)";

    case EPRO_FP_DATETIME:
        return epro_fhir_datetime_valid(s, len) == 0
               ? NULL : "must be a dateTime (YYYY, YYYY-MM, YYYY-MM-DD or "
                        "YYYY-MM-DDThh:mm:ss[.s] with Z or +hh:mm)";

    case EPRO_FP_INSTANT:
        return (len > 10 && epro_fhir_datetime_valid(s, len) == 0)
               ? NULL : "must be an instant (YYYY-MM-DDThh:mm:ss[.s] with "
                        "Z or +hh:mm)";

    case EPRO_FP_BASE64:
        /* R4: groups of 4 of A-Z a-z 0-9 + / =, white space between */

        for (i = 0, k = 0; i < len; i++) {
            if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
                || (s[i] >= '0' && s[i] <= '9') || s[i] == '+'
                || s[i] == '/' || s[i] == '=')
            {
                k++;

            } else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n'
                       && s[i] != '\r')
            {
                break;
            }
        }

        return (i == len && k > 0 && k % 4 == 0)
               ? NULL : "must be base64Binary";

    case EPRO_FP_DATE:
        return epro_fq_date(s, len) == 0
               ? NULL : "must be a date (YYYY, YYYY-MM or YYYY-MM-DD)";

    case EPRO_FP_TIME:
        return epro_fq_time(s, len) == 0
               ? NULL : "must be a time (hh:mm:ss[.s])";

    default:
        return NULL;
    }
}


/* an array of extensions, each an object with a url */

const char *
epro_fhir_extensions(const epro_node_t *n)
{
    unsigned            bit, seen;
    const char         *key, *msg;
    const epro_node_t  *e, *m;

    if (epro_fhir_primitive(n, EPRO_FP_ARRAY) != NULL) {
        return "must be a non-empty array of extensions";
    }

    for (e = epro_node_child(n); e; e = epro_node_next(e)) {
        if (epro_fhir_primitive(e, EPRO_FP_OBJECT) != NULL) {
            return "an extension is an object";
        }

        m = epro_node_member(e, "url");

        if (m == NULL || epro_fhir_primitive(m, EPRO_FP_URI) != NULL) {
            return "an extension has a url";
        }

        seen = 0;

        for (m = epro_node_child(e); m; m = epro_node_next(m)) {
            key = epro_node_key(m);

            /* value[x] and FHIR JSON's "_valueX" beside it */

            bit = (strcmp(key, "url") == 0) ? 1
                  : (strcmp(key, "id") == 0) ? 2
                  : (strcmp(key, "extension") == 0) ? 4
                  : (strncmp(key, "value", 5) == 0
                     && key[5] >= 'A' && key[5] <= 'Z') ? 8
                  : (strncmp(key, "_value", 6) == 0
                     && key[6] >= 'A' && key[6] <= 'Z') ? 16 : 0;

            if (bit == 0) {
                return "an extension has only id, extension, url and "
                       "value[x]";
            }

            if (seen & bit) {
                return "an extension has each element, and one value[x], "
                       "once";
            }

            seen |= bit;

            msg = (bit == 2) ? epro_fhir_primitive(m, EPRO_FP_STRING)
                  : (bit == 4) ? epro_fhir_extensions(m)
                  : (bit == 16) ? epro_fhir_primitive(m, EPRO_FP_OBJECT)
                  : NULL;

            if (msg != NULL) {
                return msg;
            }
        }

        /* ext-1: extension.exists() != value.exists() */

        if ((seen & 4) ? (seen & 24) != 0 : (seen & 24) == 0) {
            return "an extension has a value[x] or extensions, one of "
                   "them (ext-1)";
        }
    }

    return NULL;
}


/*
 * A value[x] of the given kind: NULL and v filled, or what is wrong (in a
 * Coding or Quantity, *member gets the element's name).
 */

const char *
epro_fhir_value(const epro_node_t *n, epro_fhir_kind_e kind,
    epro_fhir_value_t *v, const char **member)
{
    int                 i;
    unsigned            seen;
    const char         *msg, *key;
    const epro_node_t  *m;

    static const char *const  coding[] = {
        "id", "extension", "system", "version", "code", "display",
        "userSelected", NULL
    };

    static const epro_fhir_prim_e  coding_types[] = {
        EPRO_FP_STRING, EPRO_FP_ARRAY, EPRO_FP_URI, EPRO_FP_STRING,
        EPRO_FP_CODE, EPRO_FP_STRING, EPRO_FP_BOOLEAN
    };

    static const char *const  quantity[] = {
        "id", "extension", "value", "comparator", "unit", "system", "code",
        NULL
    };

    static const epro_fhir_prim_e  quantity_types[] = {
        EPRO_FP_STRING, EPRO_FP_ARRAY, EPRO_FP_DECIMAL, EPRO_FP_CODE,
        EPRO_FP_STRING, EPRO_FP_URI, EPRO_FP_CODE
    };

    static const char *const  reference[] = {
        "id", "extension", "reference", "type", "identifier", "display",
        NULL
    };

    static const epro_fhir_prim_e  reference_types[] = {
        EPRO_FP_STRING, EPRO_FP_ARRAY, EPRO_FP_STRING, EPRO_FP_URI,
        EPRO_FP_OBJECT, EPRO_FP_STRING
    };

    static const epro_fhir_prim_e  prims[] = {
        EPRO_FP_OBJECT, EPRO_FP_BOOLEAN, EPRO_FP_DECIMAL, EPRO_FP_INTEGER,
        EPRO_FP_DATE, EPRO_FP_DATETIME, EPRO_FP_TIME, EPRO_FP_STRING,
        EPRO_FP_URI
    };

    const char *const        *names;
    const epro_fhir_prim_e   *types;

    memset(v, 0, sizeof(epro_fhir_value_t));
    v->kind = kind;

    if (kind == EPRO_FV_NONE) {
        return "not a known value[x]";
    }

    if (kind < EPRO_FV_CODING) {
        msg = epro_fhir_primitive(n, prims[kind]);

        if (msg != NULL) {
            return msg;
        }

        if (kind == EPRO_FV_BOOLEAN) {
            v->num = (epro_node_type(n) == EPRO_NODE_TRUE);

        } else if (kind == EPRO_FV_DECIMAL || kind == EPRO_FV_INTEGER) {
            v->num = epro_node_number(n);
            v->text.data = epro_node_text(n, &v->text.len);

        } else {
            v->str.data = epro_node_string(n);
            v->str.len = strlen(v->str.data);
        }

        return NULL;
    }

    msg = epro_fhir_primitive(n, EPRO_FP_OBJECT);

    if (msg != NULL) {
        return msg;
    }

    if (kind == EPRO_FV_ATTACHMENT) {
        return NULL;
    }

    if (kind == EPRO_FV_CODING) {
        names = coding;
        types = coding_types;

    } else if (kind == EPRO_FV_QUANTITY) {
        names = quantity;
        types = quantity_types;

    } else {
        names = reference;
        types = reference_types;
    }

    seen = 0;

    for (m = epro_node_child(n); m; m = epro_node_next(m)) {
        key = epro_node_key(m);

        if (key[0] == '_' && epro_fhir_name(names, key + 1) >= 0) {
            /* FHIR JSON's "_x": a response's tables check it, a
             * Questionnaire's is not read */
            continue;
        }

        i = epro_fhir_name(names, key);

        if (member) {
            *member = key;
        }

        if (i < 0) {
            return "unknown element";
        }

        if (seen & (1u << i)) {
            return "duplicate element";
        }

        seen |= 1u << i;

        msg = (types[i] == EPRO_FP_ARRAY) ? epro_fhir_extensions(m)
                                          : epro_fhir_primitive(m, types[i]);

        if (msg != NULL) {
            return msg;
        }

        if (kind == EPRO_FV_CODING && i == 2) {
            v->system.data = epro_node_string(m);
            v->system.len = strlen(v->system.data);

        } else if (kind == EPRO_FV_CODING && i == 4) {
            v->str.data = epro_node_string(m);
            v->str.len = strlen(v->str.data);

        } else if (kind == EPRO_FV_QUANTITY && i == 2) {
            v->num = epro_node_number(m);
            v->text.data = epro_node_text(m, &v->text.len);

        } else if (kind == EPRO_FV_QUANTITY && i == 3
                   && epro_fhir_name(epro_fq_ops + 3, epro_node_string(m))
                      < 0)
        {
            return "must be one of <, <=, >=, >";
        }
    }

    if (member) {
        *member = NULL;
    }

    return NULL;
}


/*
 * The same value read only, as a response's tables held it to R4 already:
 * -1 if a JSON type does not fit (a response that fails anyway).
 */

int
epro_fhir_read(const epro_node_t *n, epro_fhir_kind_e kind,
    epro_fhir_value_t *v)
{
    epro_node_type_e    t;
    const epro_node_t  *m;

    memset(v, 0, sizeof(epro_fhir_value_t));
    v->kind = kind;
    t = epro_node_type(n);

    switch (kind) {

    case EPRO_FV_BOOLEAN:
        v->num = (t == EPRO_NODE_TRUE);
        return (t == EPRO_NODE_TRUE || t == EPRO_NODE_FALSE) ? 0 : -1;

    case EPRO_FV_DECIMAL:
    case EPRO_FV_INTEGER:
        if (t != EPRO_NODE_NUMBER) {
            return -1;
        }

        v->num = epro_node_number(n);
        v->text.data = epro_node_text(n, &v->text.len);
        return 0;

    case EPRO_FV_CODING:
        if (t != EPRO_NODE_OBJECT) {
            return -1;
        }

        m = epro_node_member(n, "system");
        v->system.data = epro_node_string(m);
        v->system.len = v->system.data ? strlen(v->system.data) : 0;

        n = epro_node_member(n, "code");
        break;

    case EPRO_FV_QUANTITY:
        m = (t == EPRO_NODE_OBJECT) ? epro_node_member(n, "value") : NULL;

        if (m == NULL || epro_node_type(m) != EPRO_NODE_NUMBER) {
            return (t == EPRO_NODE_OBJECT) ? 0 : -1;
        }

        v->num = epro_node_number(m);
        v->text.data = epro_node_text(m, &v->text.len);
        return 0;

    case EPRO_FV_ATTACHMENT:
    case EPRO_FV_REFERENCE:
        return (t == EPRO_NODE_OBJECT) ? 0 : -1;

    case EPRO_FV_NONE:
        return -1;

    default:
        break;
    }

    /* a string, or a Coding's code (a Coding may have none) */

    v->str.data = epro_node_string(n);
    v->str.len = v->str.data ? strlen(v->str.data) : 0;

    return (v->str.data || kind == EPRO_FV_CODING) ? 0 : -1;
}


/* -1, 0, 1; EPRO_FHIR_UNEQUAL or EPRO_FHIR_INCOMPARABLE */

int
epro_fhir_compare(const epro_fhir_value_t *a, const epro_fhir_value_t *b)
{
    int       c;
    size_t    n;
    unsigned  an, bn;

    an = (a->kind == EPRO_FV_DECIMAL || a->kind == EPRO_FV_INTEGER
          || a->kind == EPRO_FV_QUANTITY);
    bn = (b->kind == EPRO_FV_DECIMAL || b->kind == EPRO_FV_INTEGER
          || b->kind == EPRO_FV_QUANTITY);

    /* a Quantity without a value has no number to compare */

    if ((a->kind == EPRO_FV_QUANTITY && a->text.data == NULL)
        || (b->kind == EPRO_FV_QUANTITY && b->text.data == NULL))
    {
        return EPRO_FHIR_INCOMPARABLE;
    }

    if (an && bn) {
        return (a->num < b->num) ? -1 : (a->num > b->num);
    }

    if (an || bn) {
        return EPRO_FHIR_INCOMPARABLE;
    }

    switch (a->kind) {

    case EPRO_FV_BOOLEAN:
        if (b->kind != EPRO_FV_BOOLEAN) {
            return EPRO_FHIR_INCOMPARABLE;
        }

        return (a->num == b->num) ? 0 : EPRO_FHIR_UNEQUAL;

    case EPRO_FV_CODING:
        if (b->kind != EPRO_FV_CODING) {
            return EPRO_FHIR_INCOMPARABLE;
        }

        /* system and code, as the reference validator's answerOption */

        if (a->str.data == NULL || b->str.data == NULL
            || a->str.len != b->str.len
            || memcmp(a->str.data, b->str.data, a->str.len) != 0
            || (a->system.data == NULL) != (b->system.data == NULL))
        {
            return EPRO_FHIR_UNEQUAL;
        }

        if (a->system.data
            && (a->system.len != b->system.len
                || memcmp(a->system.data, b->system.data, a->system.len)
                   != 0))
        {
            return EPRO_FHIR_UNEQUAL;
        }

        return 0;

    case EPRO_FV_DATE:
    case EPRO_FV_DATETIME:
        if (b->kind != EPRO_FV_DATE && b->kind != EPRO_FV_DATETIME) {
            return EPRO_FHIR_INCOMPARABLE;
        }

        return epro_fq_when(&a->str, &b->str);

    case EPRO_FV_TIME:
        if (b->kind != EPRO_FV_TIME) {
            return EPRO_FHIR_INCOMPARABLE;
        }

        c = memcmp(a->str.data, b->str.data, 8);

        if (c != 0) {
            return (c < 0) ? -1 : 1;
        }

        return epro_fq_fraction(a->str.data + 8, a->str.len - 8,
                                b->str.data + 8, b->str.len - 8);

    case EPRO_FV_STRING:
    case EPRO_FV_URI:
        if (b->kind != a->kind) {
            return EPRO_FHIR_INCOMPARABLE;
        }

        break;

    default:
        return EPRO_FHIR_INCOMPARABLE;
    }

    n = (a->str.len < b->str.len) ? a->str.len : b->str.len;
    c = memcmp(a->str.data, b->str.data, n);

    if (c == 0) {
        c = (a->str.len < b->str.len) ? -1 : (a->str.len > b->str.len);
    }

    return (c < 0) ? -1 : (c > 0);
}


/*
 * Dates and dateTimes as FHIRPath orders them: two with a time of day are
 * instants (their offsets applied, then their fractions); otherwise the
 * dates are compared at the precision both have, and equal there with
 * different precisions they are incomparable ("2026" and "2026-11").
 */

static int
epro_fq_when(const epro_str_t *a, const epro_str_t *b)
{
    int      c;
    size_t   na, nb, fa, fb;
    int64_t  ta, tb;

    if (a->len > 10 && b->len > 10) {
        ta = epro_fq_utc(a->data, a->len, &fa);
        tb = epro_fq_utc(b->data, b->len, &fb);

        if (ta != tb) {
            return (ta < tb) ? -1 : 1;
        }

        return epro_fq_fraction(a->data + 19, fa, b->data + 19, fb);
    }

    na = (a->len < 10) ? a->len : 10;
    nb = (b->len < 10) ? b->len : 10;

    c = memcmp(a->data, b->data, (na < nb) ? na : nb);

    if (c != 0) {
        return (c < 0) ? -1 : 1;
    }

    return (a->len == b->len) ? 0 : EPRO_FHIR_INCOMPARABLE;
}


/* a valid dateTime with a time: seconds since 1970 UTC; frac: ".ddd"'s */

static int64_t
epro_fq_utc(const char *s, size_t len, size_t *frac)
{
    size_t    i;
    int64_t   days, t, off;
    unsigned  y, m, d, h, mi, sec, oh, om;

    (void) epro_fq_digits(s, 4, &y);
    (void) epro_fq_digits(s + 5, 2, &m);
    (void) epro_fq_digits(s + 8, 2, &d);
    (void) epro_fq_digits(s + 11, 2, &h);
    (void) epro_fq_digits(s + 14, 2, &mi);
    (void) epro_fq_digits(s + 17, 2, &sec);

    for (i = 19; i < len && s[i] != 'Z' && s[i] != '+' && s[i] != '-'; i++)
    {
        /* void */
    }

    *frac = i - 19;
    off = 0;

    if (i < len && s[i] != 'Z') {
        (void) epro_fq_digits(s + i + 1, 2, &oh);
        (void) epro_fq_digits(s + i + 4, 2, &om);

        off = (int64_t) (oh * 60 + om) * 60;
        off = (s[i] == '-') ? -off : off;
    }

    /* days from the civil date, March-based years (H. Hinnant's way) */

    if (m <= 2) {
        y--;
    }

    t = (int64_t) y / 400;
    days = (int64_t) (y - t * 400) * 365 + (y - t * 400) / 4
           - (y - t * 400) / 100
           + (153 * (int64_t) (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    days += t * 146097 - 719468;

    return days * 86400 + h * 3600 + mi * 60 + sec - off;
}


/* ".5" and ".50" are equal, "" is ".0" */

static int
epro_fq_fraction(const char *a, size_t na, const char *b, size_t nb)
{
    char    ca, cb;
    size_t  i;

    for (i = 1; i < na || i < nb; i++) {
        ca = (i < na) ? a[i] : '0';
        cb = (i < nb) ? b[i] : '0';

        if (ca != cb) {
            return (ca < cb) ? -1 : 1;
        }
    }

    return 0;
}


/* the decimals of the shortest text that reads back as v */

size_t
epro_fhir_places(double v)
{
    int          prec;
    long         places, exp;
    char         buf[40], *e, *dot;

    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);

        if (strtod(buf, NULL) == v) {
            break;
        }
    }

    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);

    e = strchr(buf, 'e');
    dot = strchr(buf, '.');
    exp = e ? strtol(e + 1, NULL, 10) : 0;
    places = (dot && e) ? (long) (e - dot - 1) : 0;
    places -= exp;

    return (places > 0) ? (size_t) places : 0;
}


/*
 * The decimals of a number as written: the digits after the point, less
 * the exponent ("1.50" 2, "1.5e-3" 4, "1.50e1" 1, "15e-1" 1): a trailing
 * zero was written, so it counts, as maxDecimalPlaces counts the text.
 */

size_t
epro_fhir_places_text(const char *s, size_t len)
{
    int     neg;
    long    places, exp;
    size_t  i;

    places = 0;
    exp = 0;
    neg = 0;

    for (i = 0; i < len && s[i] != '.' && s[i] != 'e' && s[i] != 'E'; i++) {
        /* void */
    }

    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            places++;
        }
    }

    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;

        if (i < len && (s[i] == '+' || s[i] == '-')) {
            neg = (s[i] == '-');
            i++;
        }

        /* the strict check allows exponents up to 308 */

        for ( /* void */ ; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (exp < 100000) {
                exp = exp * 10 + (s[i] - '0');
            }
        }
    }

    places += neg ? exp : -exp;

    return (places > 0) ? (size_t) places : 0;
}


/*
 * FHIR R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full date with
 * Thh:mm:ss[.s+] and Z or +hh:mm (offsets up to 14:00); real days only.
 */

int
epro_fhir_datetime_valid(const char *s, size_t len)
{
    size_t    i;
    unsigned  h, m;

    if (len <= 10) {
        return epro_fq_date(s, len);
    }

    if (epro_fq_date(s, 10) != 0 || s[10] != 'T') {
        return -1;
    }

    for (i = 19; i < len && s[i] != 'Z' && s[i] != '+' && s[i] != '-'; i++)
    {
        /* void */
    }

    if (i == len || epro_fq_time(s + 11, i - 11) != 0) {
        return -1;
    }

    if (s[i] == 'Z') {
        return (i + 1 == len) ? 0 : -1;
    }

    if (i + 6 != len || epro_fq_digits(s + i + 1, 2, &h) != 0
        || s[i + 3] != ':' || epro_fq_digits(s + i + 4, 2, &m) != 0
        || m > 59 || h > 14 || (h == 14 && m != 0))
    {
        return -1;
    }

    return 0;
}


static int
epro_fq_date(const char *s, size_t len)
{
    unsigned  y, m, d, mdays;

    static const unsigned char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if ((len != 4 && len != 7 && len != 10)
        || epro_fq_digits(s, 4, &y) != 0 || y == 0)
    {
        return -1;
    }

    if (len == 4) {
        return 0;
    }

    if (s[4] != '-' || epro_fq_digits(s + 5, 2, &m) != 0 || m < 1 || m > 12)
    {
        return -1;
    }

    if (len == 7) {
        return 0;
    }

    if (s[7] != '-' || epro_fq_digits(s + 8, 2, &d) != 0 || d < 1) {
        return -1;
    }

    mdays = days[m - 1];

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
        mdays = 29;
    }

    return (d > mdays) ? -1 : 0;
}


static int
epro_fq_time(const char *s, size_t len)
{
    size_t    i;
    unsigned  h, m, sec;

    if (len < 8
        || epro_fq_digits(s, 2, &h) != 0 || s[2] != ':'
        || epro_fq_digits(s + 3, 2, &m) != 0 || s[5] != ':'
        || epro_fq_digits(s + 6, 2, &sec) != 0
        || h > 23 || m > 59 || sec > 60)
    {
        return -1;
    }

    if (len == 8) {
        return 0;
    }

    if (s[8] != '.' || len == 9) {
        return -1;
    }

    for (i = 9; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }

    return 0;
}


static int
epro_fq_digits(const char *s, size_t n, unsigned *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        *v = *v * 10 + (unsigned) (s[i] - '0');
    }

    return 0;
}
