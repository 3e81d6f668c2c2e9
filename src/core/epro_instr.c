
/*
 * Instrument definitions: hash indexes built once when the configuration
 * is read, so that each answer is looked up in constant time.
 */


#include <stdio.h>
#include <string.h>

#include "epro_core.h"


static int epro_index_build(uint32_t **index, size_t *mask, size_t n,
    const epro_str_t *(*key)(const void *base, size_t i), const void *base,
    size_t *dup, epro_alloc_t *a);
static const epro_str_t *epro_instrument_key(const void *base, size_t i);
static const epro_str_t *epro_item_key(const void *base, size_t i);
static size_t epro_index_find(const uint32_t *index, size_t mask,
    const epro_str_t *(*key)(const void *base, size_t i), const void *base,
    const char *s, size_t len);


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

        } else {
            snprintf(err, errlen, "/instruments/%lu/code: duplicate code",
                     (unsigned long) dup);
        }

        return -1;
    }

    for (i = 0; i < set->n; i++) {
        in = &set->list[i];

        if (epro_index_build(&in->index, &in->mask, in->nitems,
                             epro_item_key, in->items, &dup, a)
            != EPRO_OK)
        {
            if (dup == (size_t) -1) {
                snprintf(err, errlen, "out of memory");

            } else {
                snprintf(err, errlen,
                         "/instruments/%lu/items/%lu/id: duplicate item id",
                         (unsigned long) i, (unsigned long) dup);
            }

            return -1;
        }
    }

    return 0;
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
                return EPRO_INVALID;
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
