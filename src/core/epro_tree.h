
/*
 * A parsed JSON document, for the parsers of the core (the native
 * contract, instrument definitions, FHIR resources), built by
 * epro_tree.c in the caller's allocator.
 *
 * The builder refuses (NULL) exactly the text epro_json_check() refuses,
 * and NULL too when memory runs out: epro_json_tree() tells the two apart
 * and says what is wrong.  Strings are NUL-terminated (strict JSON has no
 * U+0000), keys too.
 */


#ifndef _EPRO_TREE_H_INCLUDED_
#define _EPRO_TREE_H_INCLUDED_


#include "epro_core.h"


typedef struct epro_node_s  epro_node_t;


typedef enum {
    EPRO_NODE_NULL = 0,
    EPRO_NODE_FALSE,
    EPRO_NODE_TRUE,
    EPRO_NODE_NUMBER,
    EPRO_NODE_STRING,
    EPRO_NODE_ARRAY,
    EPRO_NODE_OBJECT
} epro_node_type_e;


/* NULL: out of memory (or text that did not pass the strict check) */
epro_node_t *epro_tree_parse(const char *text, size_t len, epro_alloc_t *a);

/*
 * The tree of a whole text under the strict check: EPRO_OK and *root;
 * EPRO_ERROR and, in req, the one error epro_json_check() finds (its
 * byte and path; the scan runs only for a refused text); EPRO_NOMEM.
 */
int epro_json_tree(const char *text, size_t len, epro_request_t *req,
    epro_alloc_t *a, epro_node_t **root);

epro_node_type_e epro_node_type(const epro_node_t *n);

/* a value's bytes in the text parsed, and where they end */
const char *epro_node_span(const epro_node_t *n, size_t *len);
const char *epro_node_end(const epro_node_t *n);

/* the first element or member, and the one after n; NULL at the end */
epro_node_t *epro_node_child(const epro_node_t *n);
epro_node_t *epro_node_next(const epro_node_t *n);

/* a member's name; NULL for an element of an array */
const char *epro_node_key(const epro_node_t *n);

/* a string's value (NULL if n is not a string), a number's value */
const char *epro_node_string(const epro_node_t *n);
double epro_node_number(const epro_node_t *n);

/* a number's text as written (not NUL-terminated), or NULL: not a number */
const char *epro_node_text(const epro_node_t *n, size_t *len);

/* the first member of an object with that name, or NULL */
epro_node_t *epro_node_member(const epro_node_t *obj, const char *key);

/* the number of elements or members, 0 for a scalar */
size_t epro_node_count(const epro_node_t *n);


#endif /* _EPRO_TREE_H_INCLUDED_ */
