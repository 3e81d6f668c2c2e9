
/*
 * The JSON tree of epro_tree.h over cJSON: the only file of the module,
 * its tests and its fuzzer that includes cJSON.h.
 *
 * cJSON keeps a number as a double only.  Its text, when the parser was
 * given the spans, goes in two fields cJSON leaves unused in a number:
 * valuestring (the start, into the caller's text; nothing here ever frees
 * a node's strings, the arena does) and valueint (the length, at most
 * EPRO_MAX_NUMBER_BYTES: the strict check refuses longer).
 */


#include <string.h>

#include <cjson/cJSON.h>

#include "epro_tree.h"


struct epro_node_s {
    cJSON          json;
};


static size_t epro_tree_spans(cJSON *n, const epro_numbers_t *nums,
    size_t k);
static void *epro_tree_malloc(size_t size);
static void epro_tree_free(void *p);


/* cJSON takes one pair of hooks for the process: set around each parse */
static epro_alloc_t  *epro_tree_alloc;

/* cJSON's type bits to ours in one load: every value is typed */
static const unsigned char  epro_tree_types[256] = {
    [cJSON_False] = EPRO_NODE_FALSE,
    [cJSON_True] = EPRO_NODE_TRUE,
    [cJSON_Number] = EPRO_NODE_NUMBER,
    [cJSON_String] = EPRO_NODE_STRING,
    [cJSON_Array] = EPRO_NODE_ARRAY,
    [cJSON_Object] = EPRO_NODE_OBJECT
};


epro_node_t *
epro_tree_parse(const char *text, size_t len, epro_alloc_t *a)
{
    cJSON        *root;
    cJSON_Hooks   hooks;

    hooks.malloc_fn = epro_tree_malloc;
    hooks.free_fn = epro_tree_free;
    epro_tree_alloc = a;
    cJSON_InitHooks(&hooks);

    root = cJSON_ParseWithLength(text, len);

    cJSON_InitHooks(NULL);
    epro_tree_alloc = NULL;

    return (epro_node_t *) root;
}


epro_node_t *
epro_tree_parse_numbers(const char *text, size_t len,
    const epro_numbers_t *nums, epro_alloc_t *a)
{
    cJSON  *root;

    root = (cJSON *) epro_tree_parse(text, len, a);

    /* the scan and cJSON meet the numbers in the same order */

    if (root == NULL
        || (nums->n && epro_tree_spans(root, nums, 0) != nums->n))
    {
        return NULL;
    }

    return (epro_node_t *) root;
}


/* depth first, in document order: k spans used before n, the count after */

static size_t
epro_tree_spans(cJSON *n, const epro_numbers_t *nums, size_t k)
{
    cJSON  *c;

    if ((n->type & 0xff) == cJSON_Number) {
        if (k < nums->n) {
            n->valuestring = (char *) nums->span[k].data;
            n->valueint = (int) nums->span[k].len;
        }

        return k + 1;
    }

    for (c = n->child; c; c = c->next) {
        k = epro_tree_spans(c, nums, k);
    }

    return k;
}


epro_node_type_e
epro_node_type(const epro_node_t *n)
{
    return (epro_node_type_e) epro_tree_types[n->json.type & 0xff];
}


epro_node_t *
epro_node_child(const epro_node_t *n)
{
    return (epro_node_t *) n->json.child;
}


epro_node_t *
epro_node_next(const epro_node_t *n)
{
    return (epro_node_t *) n->json.next;
}


const char *
epro_node_key(const epro_node_t *n)
{
    return n->json.string;
}


const char *
epro_node_string(const epro_node_t *n)
{
    return (n != NULL && (n->json.type & 0xff) == cJSON_String)
           ? n->json.valuestring : NULL;
}


double
epro_node_number(const epro_node_t *n)
{
    return n->json.valuedouble;
}


const char *
epro_node_text(const epro_node_t *n, size_t *len)
{
    if ((n->json.type & 0xff) != cJSON_Number
        || n->json.valuestring == NULL)
    {
        return NULL;
    }

    *len = (size_t) n->json.valueint;

    return n->json.valuestring;
}


epro_node_t *
epro_node_member(const epro_node_t *obj, const char *key)
{
    const cJSON  *m;

    for (m = obj->json.child; m; m = m->next) {
        if (m->string && strcmp(m->string, key) == 0) {
            return (epro_node_t *) m;
        }
    }

    return NULL;
}


size_t
epro_node_count(const epro_node_t *n)
{
    size_t        count;
    const cJSON  *m;

    count = 0;

    for (m = n->json.child; m; m = m->next) {
        count++;
    }

    return count;
}


static void *
epro_tree_malloc(size_t size)
{
    return epro_tree_alloc->alloc(epro_tree_alloc->ctx, size);
}


static void
epro_tree_free(void *p)
{
    if (epro_tree_alloc && epro_tree_alloc->free) {
        epro_tree_alloc->free(epro_tree_alloc->ctx, p);
    }
}
