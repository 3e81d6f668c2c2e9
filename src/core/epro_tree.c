
/*
 * The JSON tree of epro_tree.h, built in one pass that also holds the
 * text to RFC 8259 exactly as epro_json_check() does: it accepts what the
 * strict scan accepts and nothing else (test/fuzz/fuzz_core.c compares
 * the two on every input).  It only says no (NULL, as when memory runs
 * out); epro_json_tree() asks epro_json_check() why only then, so a
 * body that passes is read once.
 *
 * Nodes, names and string values go to the caller's allocator (the
 * request's arena); a string without escapes is one memcpy.  A number
 * keeps its text as written, pointing into the caller's text, beside
 * its value as a double.
 */


#include <stdlib.h>
#include <string.h>

#include "epro_tree.h"


struct epro_node_s {
    epro_node_t        *next;
    epro_node_t        *child;
    const char         *key;        /* a member's name */
    const char         *str;        /* a string's value, a number's text */
    size_t              len;        /* of a number's text */
    const char         *at;         /* the value's text */
    const char         *end;        /* just after it */
    double              num;
    epro_node_type_e    type;
};


typedef struct {
    const char         *p;
    const char         *end;
    epro_alloc_t       *a;
    unsigned            depth;
} epro_tree_t;


/* a string's bytes between its quotes; esc: its first backslash or NULL */

typedef struct {
    const char         *start;
    const char         *end;
    const char         *esc;
} epro_tree_span_t;


static epro_node_t *epro_tree_value(epro_tree_t *t,
    const epro_tree_span_t *key);
static int epro_tree_members(epro_tree_t *t, epro_node_t *n, int object);
static int epro_tree_span(epro_tree_t *t, epro_tree_span_t *s);
static char *epro_tree_copy(const epro_tree_span_t *s, char *d);
static const char *epro_tree_unescape(const char *p, const char *end,
    char *d);
static int epro_tree_number(epro_tree_t *t, epro_node_t *n);
static void epro_tree_ws(epro_tree_t *t);
static unsigned epro_tree_hex4(const char *p);


epro_node_t *
epro_tree_parse(const char *text, size_t len, epro_alloc_t *a)
{
    epro_tree_t   t;
    epro_node_t  *root;

    t.p = text;
    t.end = text + len;
    t.a = a;
    t.depth = 0;

    root = epro_tree_value(&t, NULL);

    if (root == NULL) {
        return NULL;
    }

    epro_tree_ws(&t);

    return (t.p == t.end) ? root : NULL;
}


int
epro_json_tree(const char *text, size_t len, epro_request_t *req,
    epro_alloc_t *a, epro_node_t **root)
{
    int  rc;

    *root = epro_tree_parse(text, len, a);

    if (*root != NULL) {
        return EPRO_OK;
    }

    /* text the scan passes failed the tree only for want of memory */

    rc = epro_json_check(text, len, req, a);

    return (rc == EPRO_ERROR && req->nerrors > 0) ? EPRO_ERROR : EPRO_NOMEM;
}


/*
 * One allocation per node: the node, then its member name's bytes, then a
 * string value's, each NUL-terminated (a body makes thousands of nodes,
 * and the allocator is a call through a pointer).
 */

static epro_node_t *
epro_tree_value(epro_tree_t *t, const epro_tree_span_t *key)
{
    char              *d, c;
    size_t             n, size;
    const char        *at;
    epro_node_t       *node;
    epro_tree_span_t   str;

    epro_tree_ws(t);

    if (t->p == t->end) {
        return NULL;
    }

    at = t->p;
    c = *at;
    size = sizeof(epro_node_t) + (key ? key->end - key->start + 1 : 0);

    if (c == '"') {
        if (epro_tree_span(t, &str) != EPRO_OK) {
            return NULL;
        }

        size += str.end - str.start + 1;
    }

    node = t->a->alloc(t->a->ctx, size);
    if (node == NULL) {
        return NULL;
    }

    node->next = NULL;
    node->child = NULL;
    node->key = NULL;
    node->str = NULL;
    node->len = 0;
    node->at = at;
    node->num = 0;

    d = (char *) (node + 1);

    if (key) {
        node->key = d;
        d = epro_tree_copy(key, d);

        if (d == NULL) {
            return NULL;
        }
    }

    switch (c) {

    case '{':
    case '[':
        node->type = (c == '{') ? EPRO_NODE_OBJECT : EPRO_NODE_ARRAY;
        t->p++;

        if (++t->depth > EPRO_MAX_DEPTH
            || epro_tree_members(t, node, node->type == EPRO_NODE_OBJECT)
               != EPRO_OK)
        {
            return NULL;
        }

        t->depth--;
        break;

    case '"':
        /* t->p is past the string already */
        node->type = EPRO_NODE_STRING;
        node->str = d;

        if (epro_tree_copy(&str, d) == NULL) {
            return NULL;
        }

        break;

    case 't':
    case 'f':
    case 'n':
        node->type = (*t->p == 't') ? EPRO_NODE_TRUE
                     : (*t->p == 'f') ? EPRO_NODE_FALSE : EPRO_NODE_NULL;
        n = (*t->p == 'f') ? 5 : 4;

        if ((size_t) (t->end - t->p) < n
            || memcmp(t->p, (*t->p == 't') ? "true"
                            : (*t->p == 'f') ? "false" : "null", n) != 0)
        {
            return NULL;
        }

        t->p += n;
        break;

    default:
        if (epro_tree_number(t, node) != EPRO_OK) {
            return NULL;
        }
    }

    node->end = t->p;

    return node;
}


/* after the '{' or '[': the members or elements and the closing bracket */

static int
epro_tree_members(epro_tree_t *t, epro_node_t *n, int object)
{
    epro_node_t       **next, *c;
    epro_tree_span_t    key;

    next = &n->child;
    epro_tree_ws(t);

    if (t->p < t->end && *t->p == (object ? '}' : ']')) {
        t->p++;
        return EPRO_OK;
    }

    for ( ;; ) {
        if (object) {
            epro_tree_ws(t);

            if (t->p == t->end || *t->p != '"'
                || epro_tree_span(t, &key) != EPRO_OK)
            {
                return EPRO_ERROR;
            }

            epro_tree_ws(t);

            if (t->p == t->end || *t->p != ':') {
                return EPRO_ERROR;
            }

            t->p++;
        }

        c = epro_tree_value(t, object ? &key : NULL);
        if (c == NULL) {
            return EPRO_ERROR;
        }

        *next = c;
        next = &c->next;

        epro_tree_ws(t);

        if (t->p == t->end) {
            return EPRO_ERROR;
        }

        if (*t->p == ',') {
            t->p++;
            continue;
        }

        if (*t->p != (object ? '}' : ']')) {
            return EPRO_ERROR;
        }

        t->p++;

        return EPRO_OK;
    }
}


/*
 * At the '"': the string's span, and t->p past its closing quote.  Raw
 * control characters and invalid UTF-8 end it; its escapes are checked
 * as they are unescaped (epro_tree_unescape).
 */

static int
epro_tree_span(epro_tree_t *t, epro_tree_span_t *s)
{
    size_t                n;
    const unsigned char  *p, *end;

    p = (const unsigned char *) ++t->p;
    end = (const unsigned char *) t->end;
    s->start = t->p;
    s->esc = NULL;

    for ( ;; ) {
        p = epro_json_plain(p, end);

        if (p == end) {
            return EPRO_ERROR;
        }

        if (*p == '"') {
            break;
        }

        if (*p == '\\') {
            s->esc = s->esc ? s->esc : (const char *) p;

            if (end - p < 2) {
                return EPRO_ERROR;
            }

            p += 2;
            continue;
        }

        if (*p < 0x20) {
            return EPRO_ERROR;
        }

        n = epro_utf8_seq(p, end);
        if (n == 0) {
            return EPRO_ERROR;
        }

        p += n;
    }

    s->end = (const char *) p;
    t->p = (const char *) p + 1;

    return EPRO_OK;
}


/* the span's value at d, NUL-terminated: the byte after it, or NULL */

static char *
epro_tree_copy(const epro_tree_span_t *s, char *d)
{
    size_t  n;

    if (s->esc == NULL) {
        n = s->end - s->start;
        memcpy(d, s->start, n);
        d[n] = '\0';

        return d + n + 1;
    }

    memcpy(d, s->start, s->esc - s->start);
    d += s->esc - s->start;

    d = (char *) epro_tree_unescape(s->esc, s->end, d);

    return d ? d + strlen(d) + 1 : NULL;
}


/* the rest of a string from its first escape into d (the text is longer) */

static const char *
epro_tree_unescape(const char *p, const char *end, char *d)
{
    char      *start;
    unsigned   c, lo;

    start = d;

    while (p < end) {
        if (*p != '\\') {
            *d++ = *p++;
            continue;
        }

        switch (p[1]) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': c = 0x10000; break;
        case '"': case '\\': case '/': c = (unsigned char) p[1]; break;
        default: return NULL;
        }

        if (c != 0x10000) {
            *d++ = (char) c;
            p += 2;
            continue;
        }

        if (end - p < 6 || (c = epro_tree_hex4(p + 2)) > 0xffff || c == 0) {
            return NULL;
        }

        p += 6;

        if (c >= 0xd800 && c <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u') {
                return NULL;
            }

            lo = epro_tree_hex4(p + 2);

            if (lo < 0xdc00 || lo > 0xdfff) {
                return NULL;
            }

            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;

        } else if (c >= 0xdc00 && c <= 0xdfff) {
            return NULL;
        }

        if (c < 0x80) {
            *d++ = (char) c;

        } else if (c < 0x800) {
            *d++ = (char) (0xc0 | (c >> 6));
            *d++ = (char) (0x80 | (c & 0x3f));

        } else if (c < 0x10000) {
            *d++ = (char) (0xe0 | (c >> 12));
            *d++ = (char) (0x80 | ((c >> 6) & 0x3f));
            *d++ = (char) (0x80 | (c & 0x3f));

        } else {
            *d++ = (char) (0xf0 | (c >> 18));
            *d++ = (char) (0x80 | ((c >> 12) & 0x3f));
            *d++ = (char) (0x80 | ((c >> 6) & 0x3f));
            *d++ = (char) (0x80 | (c & 0x3f));
        }
    }

    *d = '\0';

    return start;
}


/* the four hex digits' value, or 0x10000 */

static unsigned
epro_tree_hex4(const char *p)
{
    int       i;
    unsigned  c, v;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = (unsigned char) p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return 0x10000;
        }

        v = v << 4 | c;
    }

    return v;
}


/*
 * A number as the strict scan reads it (epro_json_number(): RFC 8259, and
 * what PostgreSQL's numeric and a double both hold); the text as written,
 * the value by strtod() of a NUL-terminated copy.
 */

static int
epro_tree_number(epro_tree_t *t, epro_node_t *n)
{
    char        *e, buf[EPRO_MAX_NUMBER_BYTES + 1];
    size_t       len;
    const char  *p, *why;

    p = t->p;

    if (epro_json_number(&p, t->end, &why) != EPRO_OK) {
        return EPRO_ERROR;
    }

    len = p - t->p;

    memcpy(buf, t->p, len);
    buf[len] = '\0';

    n->num = strtod(buf, &e);

    if (e != buf + len) {
        return EPRO_ERROR;
    }

    n->type = EPRO_NODE_NUMBER;
    n->str = t->p;
    n->len = len;
    t->p = p;

    return EPRO_OK;
}


static void
epro_tree_ws(epro_tree_t *t)
{
    while (t->p < t->end
           && (*t->p == ' ' || *t->p == '\t' || *t->p == '\n'
               || *t->p == '\r'))
    {
        t->p++;
    }
}


epro_node_type_e
epro_node_type(const epro_node_t *n)
{
    return n->type;
}


epro_node_t *
epro_node_child(const epro_node_t *n)
{
    return n->child;
}


epro_node_t *
epro_node_next(const epro_node_t *n)
{
    return n->next;
}


const char *
epro_node_key(const epro_node_t *n)
{
    return n->key;
}


const char *
epro_node_string(const epro_node_t *n)
{
    return (n != NULL && n->type == EPRO_NODE_STRING) ? n->str : NULL;
}


double
epro_node_number(const epro_node_t *n)
{
    return n->num;
}


const char *
epro_node_text(const epro_node_t *n, size_t *len)
{
    if (n->type != EPRO_NODE_NUMBER) {
        return NULL;
    }

    *len = n->len;

    return n->str;
}


epro_node_t *
epro_node_member(const epro_node_t *obj, const char *key)
{
    epro_node_t  *m;

    for (m = obj->child; m; m = m->next) {
        if (m->key && strcmp(m->key, key) == 0) {
            return m;
        }
    }

    return NULL;
}


size_t
epro_node_count(const epro_node_t *n)
{
    size_t        count;
    epro_node_t  *m;

    count = 0;

    for (m = n->child; m; m = m->next) {
        count++;
    }

    return count;
}


const char *
epro_node_end(const epro_node_t *n)
{
    return n->end;
}


const char *
epro_node_span(const epro_node_t *n, size_t *len)
{
    *len = n->end - n->at;

    return n->at;
}
