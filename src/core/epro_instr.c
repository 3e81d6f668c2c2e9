
/*
 * Instrument definitions: the definitions file checked and loaded, and
 * hash indexes built once when the configuration is read, so that each
 * answer is looked up in constant time.
 *
 * The definitions file:
 *
 * {"instruments": [{"code": "PHQ-9", "version": "1", "unknownItems":
 *   "reject", "items": [{"id": "PHQ9_1", "type": "integer", "min": 0,
 *   "max": 3, "required": true}, ...]}, ...]}
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "epro_core.h"
#include "epro_tree.h"


static int epro_load_item(epro_item_t *item, epro_node_t *def, char *err,
    size_t errlen, const char *where, epro_alloc_t *a);
static int epro_def_string(epro_str_t *out, epro_node_t *v, int required);
static int epro_def_members(epro_node_t *obj, const char *const *names,
    char *err, size_t errlen, const char *where);
static void epro_def_error(char *err, size_t errlen, const char *fmt, ...);
static int epro_index_build(uint32_t **index, size_t *mask, size_t n,
    const epro_str_t *(*key)(const void *base, size_t i), const void *base,
    size_t *dup, epro_alloc_t *a);
static const epro_str_t *epro_instrument_key(const void *base, size_t i);
static const epro_str_t *epro_item_key(const void *base, size_t i);
static size_t epro_index_find(const uint32_t *index, size_t mask,
    const epro_str_t *(*key)(const void *base, size_t i), const void *base,
    const char *s, size_t len);



int
epro_instruments_load(epro_instruments_t *set, const char *text,
    size_t len, char *err, size_t errlen, epro_alloc_t *a)
{
    int                 rc;
    char                where[96], iwhere[128];
    size_t              i, j, n;
    const char         *str;
    epro_node_t        *root, *list, *def, *items, *item, *v;
    epro_request_t      req;
    epro_instrument_t  *in;

    static const char *const  top[] = { "instruments", NULL };
    static const char *const  members[] = {
        "code", "version", "title", "unknownItems", "items", NULL
    };

    memset(set, 0, sizeof(epro_instruments_t));
    memset(&req, 0, sizeof(epro_request_t));

    if (len == 0) {
        epro_def_error(err, errlen, "the file is empty");
        return EPRO_ERROR;
    }

    rc = epro_json_tree(text, len, &req, a, &root);

    if (rc == EPRO_NOMEM) {
        epro_def_error(err, errlen, "out of memory");
        return EPRO_NOMEM;
    }

    if (rc != EPRO_OK) {
        epro_def_error(err, errlen, "%s%s%s", req.errors[0].path,
                       req.errors[0].path[0] ? ": " : "",
                       req.errors[0].message);
        return EPRO_ERROR;
    }

    if (epro_node_type(root) != EPRO_NODE_OBJECT) {
        epro_def_error(err, errlen, "must be an object with \"instruments\"");
        return EPRO_ERROR;
    }

    if (epro_def_members(root, top, err, errlen, "") != EPRO_OK) {
        return EPRO_ERROR;
    }

    list = epro_node_member(root, "instruments");

    if (list == NULL || epro_node_type(list) != EPRO_NODE_ARRAY) {
        epro_def_error(err, errlen, "/instruments: must be an array");
        return EPRO_ERROR;
    }

    n = epro_node_count(list);

    set->list = a->alloc(a->ctx, (n ? n : 1) * sizeof(epro_instrument_t));
    if (set->list == NULL) {
        epro_def_error(err, errlen, "out of memory");
        return EPRO_NOMEM;
    }

    memset(set->list, 0, (n ? n : 1) * sizeof(epro_instrument_t));
    set->n = n;

    for (i = 0, def = epro_node_child(list);
         def;
         i++, def = epro_node_next(def))
    {
        in = &set->list[i];
        snprintf(where, sizeof(where), "/instruments/%lu", (unsigned long) i);

        if (epro_node_type(def) != EPRO_NODE_OBJECT) {
            epro_def_error(err, errlen, "%s: must be an object", where);
            return EPRO_ERROR;
        }

        if (epro_def_members(def, members, err, errlen, where) != EPRO_OK) {
            return EPRO_ERROR;
        }

        if (epro_def_string(&in->code, epro_node_member(def, "code"), 1)
            != EPRO_OK)
        {
            epro_def_error(err, errlen,
                           "%s/code: must be a string of 1 to %d characters",
                           where, EPRO_MAX_FIELD_CHARS);
            return EPRO_ERROR;
        }

        if (epro_def_string(&in->version, epro_node_member(def, "version"),
                            0)
            != EPRO_OK)
        {
            epro_def_error(err, errlen, "%s/version: must be a string of 1 "
                           "to %d characters", where, EPRO_MAX_FIELD_CHARS);
            return EPRO_ERROR;
        }

        v = epro_node_member(def, "title");

        if (v && epro_node_string(v) == NULL) {
            epro_def_error(err, errlen, "%s/title: must be a string", where);
            return EPRO_ERROR;
        }

        v = epro_node_member(def, "unknownItems");
        str = v ? epro_node_string(v) : NULL;

        if (str && strcmp(str, "allow") == 0) {
            in->allow_unknown = 1;

        } else if (v && (str == NULL || strcmp(str, "reject") != 0)) {
            epro_def_error(err, errlen, "%s/unknownItems: must be "
                           "\"reject\" or \"allow\"", where);
            return EPRO_ERROR;
        }

        items = epro_node_member(def, "items");
        n = items ? epro_node_count(items) : 0;

        if (items == NULL || epro_node_type(items) != EPRO_NODE_ARRAY
            || n == 0 || n > EPRO_MAX_ANSWERS)
        {
            epro_def_error(err, errlen,
                           "%s/items: must be an array of 1 to %d items",
                           where, EPRO_MAX_ANSWERS);
            return EPRO_ERROR;
        }

        in->nitems = n;

        in->items = a->alloc(a->ctx, in->nitems * sizeof(epro_item_t));
        if (in->items == NULL) {
            epro_def_error(err, errlen, "out of memory");
            return EPRO_NOMEM;
        }

        memset(in->items, 0, in->nitems * sizeof(epro_item_t));

        for (j = 0, item = epro_node_child(items);
             item;
             j++, item = epro_node_next(item))
        {
            snprintf(iwhere, sizeof(iwhere), "%s/items/%lu", where,
                     (unsigned long) j);

            rc = epro_load_item(&in->items[j], item, err, errlen, iwhere, a);
            if (rc != EPRO_OK) {
                return rc;
            }

            in->nrequired += in->items[j].required;
        }
    }

    return epro_instruments_index(set, err, errlen, a);
}


static int
epro_load_item(epro_item_t *item, epro_node_t *def, char *err,
    size_t errlen, const char *where, epro_alloc_t *a)
{
    size_t            i;
    const char       *str;
    epro_node_t      *v, *c;
    epro_node_type_e  type;

    static const char *const  members[] = {
        "id", "type", "label", "min", "max", "maxLength", "choices",
        "required", "multiple", NULL
    };

    static const char *const  types[] = {
        "integer", "decimal", "string", "boolean", "choice", "date",
        "datetime", NULL
    };

    if (epro_node_type(def) != EPRO_NODE_OBJECT) {
        epro_def_error(err, errlen, "%s: must be an object", where);
        return EPRO_ERROR;
    }

    if (epro_def_members(def, members, err, errlen, where) != EPRO_OK) {
        return EPRO_ERROR;
    }

    if (epro_def_string(&item->id, epro_node_member(def, "id"), 1)
        != EPRO_OK)
    {
        epro_def_error(err, errlen,
                       "%s/id: must be a string of 1 to %d characters",
                       where, EPRO_MAX_ITEM_CHARS);
        return EPRO_ERROR;
    }

    v = epro_node_member(def, "type");
    str = v ? epro_node_string(v) : NULL;

    for (i = 0; str && types[i]; i++) {
        if (strcmp(str, types[i]) == 0) {
            break;
        }
    }

    if (str == NULL || types[i] == NULL) {
        epro_def_error(err, errlen, "%s/type: must be one of integer, "
                       "decimal, string, boolean, choice, date, datetime",
                       where);
        return EPRO_ERROR;
    }

    item->type = (epro_item_type_e) i;

    v = epro_node_member(def, "label");

    if (v && epro_node_string(v) == NULL) {
        epro_def_error(err, errlen, "%s/label: must be a string", where);
        return EPRO_ERROR;
    }

    v = epro_node_member(def, "min");

    if (v) {
        if (epro_node_type(v) != EPRO_NODE_NUMBER
            || (item->type != EPRO_ITEM_INTEGER
                && item->type != EPRO_ITEM_DECIMAL))
        {
            epro_def_error(err, errlen, "%s/min: a number, for integer and "
                           "decimal items", where);
            return EPRO_ERROR;
        }

        item->min = epro_node_number(v);
        item->has_min = 1;
    }

    v = epro_node_member(def, "max");

    if (v) {
        if (epro_node_type(v) != EPRO_NODE_NUMBER
            || (item->type != EPRO_ITEM_INTEGER
                && item->type != EPRO_ITEM_DECIMAL))
        {
            epro_def_error(err, errlen, "%s/max: a number, for integer and "
                           "decimal items", where);
            return EPRO_ERROR;
        }

        item->max = epro_node_number(v);
        item->has_max = 1;
    }

    if (item->has_min && item->has_max && item->min > item->max) {
        epro_def_error(err, errlen, "%s/max: is below min", where);
        return EPRO_ERROR;
    }

    v = epro_node_member(def, "maxLength");

    if (v) {
        if (epro_node_type(v) != EPRO_NODE_NUMBER
            || item->type != EPRO_ITEM_STRING
            || epro_node_number(v) < 1
            || epro_node_number(v) > EPRO_MAX_ANSWER_CHARS
            || epro_node_number(v) != floor(epro_node_number(v)))
        {
            epro_def_error(err, errlen, "%s/maxLength: an integer from 1 to "
                           "%d, for string items", where,
                           EPRO_MAX_ANSWER_CHARS);
            return EPRO_ERROR;
        }

        item->max_length = (size_t) epro_node_number(v);
    }

    v = epro_node_member(def, "choices");

    if ((v != NULL) != (item->type == EPRO_ITEM_CHOICE)) {
        epro_def_error(err, errlen, "%s/choices: %s", where,
                       v ? "only for choice items"
                         : "required for choice items");
        return EPRO_ERROR;
    }

    if (v) {
        if (epro_node_type(v) != EPRO_NODE_ARRAY
            || epro_node_child(v) == NULL)
        {
            epro_def_error(err, errlen, "%s/choices: must be a non-empty "
                           "array", where);
            return EPRO_ERROR;
        }

        item->nchoices = epro_node_count(v);

        item->choices = a->alloc(a->ctx,
                                 item->nchoices * sizeof(epro_choice_t));
        if (item->choices == NULL) {
            epro_def_error(err, errlen, "out of memory");
            return EPRO_NOMEM;
        }

        for (i = 0, c = epro_node_child(v); c; i++, c = epro_node_next(c)) {
            item->choices[i].str.data = NULL;
            item->choices[i].num = 0;

            str = epro_node_string(c);

            if (str) {
                item->choices[i].str.data = str;
                item->choices[i].str.len = strlen(str);

            } else if (epro_node_type(c) == EPRO_NODE_NUMBER) {
                item->choices[i].num = epro_node_number(c);

            } else {
                epro_def_error(err, errlen, "%s/choices/%lu: must be a "
                               "string or a number", where, (unsigned long) i);
                return EPRO_ERROR;
            }
        }
    }

    v = epro_node_member(def, "required");
    type = v ? epro_node_type(v) : EPRO_NODE_NULL;

    if (v && type != EPRO_NODE_TRUE && type != EPRO_NODE_FALSE) {
        epro_def_error(err, errlen, "%s/required: must be true or false",
                       where);
        return EPRO_ERROR;
    }

    item->required = (type == EPRO_NODE_TRUE);

    v = epro_node_member(def, "multiple");
    type = v ? epro_node_type(v) : EPRO_NODE_NULL;

    if (v && type != EPRO_NODE_TRUE && type != EPRO_NODE_FALSE) {
        epro_def_error(err, errlen, "%s/multiple: must be true or false",
                       where);
        return EPRO_ERROR;
    }

    item->multiple = (type == EPRO_NODE_TRUE);

    return EPRO_OK;
}


static int
epro_def_string(epro_str_t *out, epro_node_t *v, int required)
{
    const char  *str;

    if (v == NULL) {
        return required ? EPRO_ERROR : EPRO_OK;
    }

    str = epro_node_string(v);

    if (str == NULL || str[0] == '\0'
        || epro_utf8_chars(str, strlen(str)) > EPRO_MAX_FIELD_CHARS)
    {
        return EPRO_ERROR;
    }

    out->data = str;
    out->len = strlen(str);

    return EPRO_OK;
}


static int
epro_def_members(epro_node_t *obj, const char *const *names, char *err,
    size_t errlen, const char *where)
{
    char          path[EPRO_PATH_MAX];
    size_t        i;
    const char   *key;
    epro_node_t  *m, *o;

    for (m = epro_node_child(obj); m; m = epro_node_next(m)) {
        key = epro_node_key(m);
        epro_path(path, where, key);

        for (i = 0; names[i]; i++) {
            if (strcmp(key, names[i]) == 0) {
                break;
            }
        }

        if (names[i] == NULL) {
            epro_def_error(err, errlen, "%s: unknown member", path);
            return EPRO_ERROR;
        }

        for (o = epro_node_child(obj); o != m; o = epro_node_next(o)) {
            if (strcmp(epro_node_key(o), key) == 0) {
                epro_def_error(err, errlen, "%s: duplicate member", path);
                return EPRO_ERROR;
            }
        }
    }

    return EPRO_OK;
}


static void
epro_def_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}

uint32_t
epro_hash(const char *s, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 16777619u;
    }

    return h;
}


int
epro_instruments_index(epro_instruments_t *set, char *err, size_t errlen,
    epro_alloc_t *a)
{
    size_t              i, dup;
    epro_instrument_t  *in;

    if (epro_index_build(&set->index, &set->mask, set->n,
                         epro_instrument_key, set->list, &dup, a)
        != EPRO_OK)
    {
        if (dup == (size_t) -1) {
            snprintf(err, errlen, "out of memory");
            return EPRO_NOMEM;
        }

        snprintf(err, errlen, "/instruments/%lu/code: duplicate code",
                 (unsigned long) dup);
        return EPRO_ERROR;
    }

    for (i = 0; i < set->n; i++) {
        in = &set->list[i];

        if (epro_index_build(&in->index, &in->mask, in->nitems,
                             epro_item_key, in->items, &dup, a)
            != EPRO_OK)
        {
            if (dup == (size_t) -1) {
                snprintf(err, errlen, "out of memory");
                return EPRO_NOMEM;
            }

            snprintf(err, errlen,
                     "/instruments/%lu/items/%lu/id: duplicate item id",
                     (unsigned long) i, (unsigned long) dup);
            return EPRO_ERROR;
        }
    }

    return EPRO_OK;
}


const epro_instrument_t *
epro_instrument_find(const epro_instruments_t *set, const char *code,
    size_t len)
{
    size_t  i;

    if (set == NULL || set->n == 0) {
        return NULL;
    }

    i = epro_index_find(set->index, set->mask, epro_instrument_key,
                        set->list, code, len);

    return i ? &set->list[i - 1] : NULL;
}


const epro_item_t *
epro_item_find(const epro_instrument_t *instr, const char *id, size_t len)
{
    size_t  i;

    if (instr->nitems == 0) {
        return NULL;
    }

    i = epro_index_find(instr->index, instr->mask, epro_item_key,
                        instr->items, id, len);

    return i ? &instr->items[i - 1] : NULL;
}


/* open addressing, at most half full; *dup gets a duplicate's position */

static int
epro_index_build(uint32_t **index, size_t *mask, size_t n,
    const epro_str_t *(*key)(const void *base, size_t i), const void *base,
    size_t *dup, epro_alloc_t *a)
{
    size_t             i, h, size;
    uint32_t          *t;
    const epro_str_t  *k, *o;

    size = 2;
    while (size < n * 2) {
        size <<= 1;
    }

    t = a->alloc(a->ctx, size * sizeof(uint32_t));
    if (t == NULL) {
        *dup = (size_t) -1;
        return EPRO_NOMEM;
    }

    memset(t, 0, size * sizeof(uint32_t));

    for (i = 0; i < n; i++) {
        k = key(base, i);

        for (h = epro_hash(k->data, k->len) & (size - 1);
             t[h];
             h = (h + 1) & (size - 1))
        {
            o = key(base, t[h] - 1);

            if (o->len == k->len && memcmp(o->data, k->data, k->len) == 0) {
                *dup = i;
                return EPRO_ERROR;
            }
        }

        t[h] = (uint32_t) (i + 1);
    }

    *index = t;
    *mask = size - 1;

    return EPRO_OK;
}


static size_t
epro_index_find(const uint32_t *index, size_t mask,
    const epro_str_t *(*key)(const void *base, size_t i), const void *base,
    const char *s, size_t len)
{
    size_t             h;
    const epro_str_t  *k;

    for (h = epro_hash(s, len) & mask; index[h]; h = (h + 1) & mask) {
        k = key(base, index[h] - 1);

        if (k->len == len && memcmp(k->data, s, len) == 0) {
            return index[h];
        }
    }

    return 0;
}


static const epro_str_t *
epro_instrument_key(const void *base, size_t i)
{
    return &((const epro_instrument_t *) base)[i].code;
}


static const epro_str_t *
epro_item_key(const void *base, size_t i)
{
    return &((const epro_item_t *) base)[i].id;
}
