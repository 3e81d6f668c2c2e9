
/*
 * Strict RFC 8259 checker, buffers and JSON output helpers.
 *
 * The scanner is the reference for what strict means ("-01", "2.", raw
 * control characters, bad \u escapes, bytes after the value), and the
 * one that says why: a request body is built into the tree first
 * (epro_tree.c refuses exactly what this scanner refuses, fuzz_core
 * checks it) and scanned here only when the tree refused it, for the
 * byte and path of every error.  Instruments and Questionnaires are
 * scanned before their tree is built.  It can also remember where each
 * top-level array element starts and ends.
 */


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epro_core.h"


#define EPRO_SCAN_PATH_MAX  256


typedef struct {
    unsigned char       object;
    size_t              index;
    const char         *key;
    size_t              key_len;
} epro_frame_t;


typedef struct {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    unsigned             depth;
    epro_frame_t         frames[EPRO_MAX_DEPTH + 1];
    epro_request_t      *req;
    epro_alloc_t        *alloc;
    epro_numbers_t      *numbers;   /* NULL: not wanted */
    int                  failed;    /* a syntax error ends the scan */
    int                  invalid;   /* a content error does not */
    int                  nomem;
} epro_scan_t;


static int epro_scan_value(epro_scan_t *s);
static int epro_scan_object(epro_scan_t *s);
static int epro_scan_array(epro_scan_t *s);
static int epro_scan_string(epro_scan_t *s);
static int epro_scan_number(epro_scan_t *s);
static int epro_scan_note(epro_scan_t *s, const unsigned char *start);
static int epro_scan_fail(epro_scan_t *s, const char *what);
static void epro_scan_invalid(epro_scan_t *s, const char *what);
static void epro_scan_path(epro_scan_t *s, char *path, size_t size);
static size_t epro_path_key(char *path, size_t n, size_t size,
    const char *key, size_t len);
static int epro_hex4(const unsigned char *p, unsigned *v);
static int epro_verror(epro_request_t *req, epro_alloc_t *a,
    const char *path, const char *fmt, va_list args);
static size_t epro_where_path(char *out, const epro_where_t *w);
static size_t epro_path_append(char *out, size_t n, const char *key);
static int epro_problem_add(epro_buf_t *b, const char *text, const char *s,
    epro_alloc_t *a);


int
epro_json_check(const char *p, size_t len, epro_request_t *req,
    epro_alloc_t *a)
{
    return epro_json_check_numbers(p, len, req, NULL, a);
}


int
epro_json_check_numbers(const char *p, size_t len, epro_request_t *req,
    epro_numbers_t *nums, epro_alloc_t *a)
{
    int           rc;
    epro_scan_t   s;

    memset(&s, 0, sizeof(epro_scan_t));
    s.start = (const unsigned char *) p;
    s.p = s.start;
    s.end = s.start + len;
    s.req = req;
    s.alloc = a;
    s.numbers = nums;

    if (nums) {
        nums->n = 0;
    }

    while (s.p < s.end
           && (*s.p == ' ' || *s.p == '\t' || *s.p == '\n' || *s.p == '\r'))
    {
        s.p++;
    }

    if (s.p == s.end) {
        return epro_scan_fail(&s, "the body is empty");
    }

    rc = epro_scan_value(&s);
    if (rc != EPRO_OK) {
        return rc;
    }

    while (s.p < s.end
           && (*s.p == ' ' || *s.p == '\t' || *s.p == '\n' || *s.p == '\r'))
    {
        s.p++;
    }

    if (s.p != s.end) {
        return epro_scan_fail(&s, "unexpected data after the JSON value");
    }

    if (s.nomem) {
        return EPRO_NOMEM;
    }

    if (s.invalid) {
        req->status = EPRO_STATUS_INVALID;
        return EPRO_ERROR;
    }

    return EPRO_OK;
}


static void
epro_scan_ws(epro_scan_t *s)
{
    while (s->p < s->end
           && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n'
               || *s->p == '\r'))
    {
        s->p++;
    }
}


static int
epro_scan_value(epro_scan_t *s)
{
    size_t  n;

    if (s->p == s->end) {
        return epro_scan_fail(s, "unexpected end of the body");
    }

    switch (*s->p) {

    case '{':
        return epro_scan_object(s);

    case '[':
        return epro_scan_array(s);

    case '"':
        return epro_scan_string(s);

    case 't':
    case 'f':
    case 'n':
        n = (*s->p == 'f') ? 5 : 4;

        if ((size_t) (s->end - s->p) >= n
            && (memcmp(s->p, "true", n) == 0
                || memcmp(s->p, "false", n) == 0
                || memcmp(s->p, "null", n) == 0))
        {
            s->p += n;
            return EPRO_OK;
        }

        return epro_scan_fail(s, "invalid literal");

    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) {
            return epro_scan_number(s);
        }

        return epro_scan_fail(s, "unexpected character");
    }
}


static int
epro_scan_object(epro_scan_t *s)
{
    int            rc;
    const char    *key;
    epro_frame_t  *f;

    if (s->depth == EPRO_MAX_DEPTH) {
        return epro_scan_fail(s, "nesting is too deep");
    }

    f = &s->frames[++s->depth];
    f->object = 1;
    f->key = NULL;
    f->key_len = 0;

    s->p++;
    epro_scan_ws(s);

    if (s->p < s->end && *s->p == '}') {
        s->p++;
        s->depth--;
        return EPRO_OK;
    }

    for ( ;; ) {
        if (s->p == s->end || *s->p != '"') {
            return epro_scan_fail(s, "expected a member name");
        }

        f->key = NULL;
        key = (const char *) s->p + 1;

        rc = epro_scan_string(s);
        if (rc != EPRO_OK) {
            return rc;
        }

        f->key = key;
        f->key_len = (const char *) s->p - 1 - key;

        epro_scan_ws(s);

        if (s->p == s->end || *s->p != ':') {
            return epro_scan_fail(s, "expected ':'");
        }

        s->p++;
        epro_scan_ws(s);

        rc = epro_scan_value(s);
        if (rc != EPRO_OK) {
            return rc;
        }

        if (s->p < s->end
            && (((*s->p | 0x20) >= 'a' && (*s->p | 0x20) <= 'z')
                || (*s->p >= '0' && *s->p <= '9')
                || *s->p == '.' || *s->p == '+' || *s->p == '-'))
        {
            /* "1.2.3", "0x10": the member's value is still being read */
            return epro_scan_fail(s, "invalid value");
        }

        /* what follows is the object's, not the member's */
        f->key = NULL;

        epro_scan_ws(s);

        if (s->p < s->end && *s->p == ',') {
            s->p++;
            epro_scan_ws(s);
            continue;
        }

        if (s->p < s->end && *s->p == '}') {
            s->p++;
            s->depth--;
            return EPRO_OK;
        }

        return epro_scan_fail(s, "expected ',' or '}'");
    }
}


static int
epro_scan_array(epro_scan_t *s)
{
    int            rc;
    epro_frame_t  *f;

    if (s->depth == EPRO_MAX_DEPTH) {
        return epro_scan_fail(s, "nesting is too deep");
    }

    f = &s->frames[++s->depth];
    f->object = 0;
    f->index = 0;

    s->p++;
    epro_scan_ws(s);

    if (s->p < s->end && *s->p == ']') {
        s->p++;
        s->depth--;
        return EPRO_OK;
    }

    for ( ;; ) {
        rc = epro_scan_value(s);
        if (rc != EPRO_OK) {
            return rc;
        }

        epro_scan_ws(s);

        if (s->p < s->end && *s->p == ',') {
            s->p++;
            f->index++;
            epro_scan_ws(s);
            continue;
        }

        if (s->p < s->end && *s->p == ']') {
            s->p++;
            s->depth--;
            return EPRO_OK;
        }

        return epro_scan_fail(s, "expected ',' or ']'");
    }
}


static int
epro_scan_string(epro_scan_t *s)
{
    size_t                n;
    unsigned              c, lo;
    const unsigned char  *p;

    s->p++;

    while (s->p < s->end) {
        p = epro_json_plain(s->p, s->end);
        s->p = p;

        if (p == s->end) {
            break;
        }

        if (*p == '"') {
            s->p++;
            return EPRO_OK;
        }

        if (*p < 0x20) {
            return epro_scan_fail(s, "control character in a string");
        }

        if (*p >= 0x80) {
            n = epro_utf8_seq(p, s->end);

            if (n == 0) {
                epro_scan_invalid(s, "string is not valid UTF-8");
                s->p++;

            } else {
                s->p += n;
            }

            continue;
        }

        /* a backslash */

        if (s->end - p < 2) {
            break;
        }

        switch (p[1]) {
        case '"': case '\\': case '/': case 'b':
        case 'f': case 'n': case 'r': case 't':
            s->p += 2;
            continue;

        case 'u':
            break;

        default:
            s->p++;
            return epro_scan_fail(s, "invalid escape in a string");
        }

        if (s->end - p < 6 || epro_hex4(p + 2, &c) != EPRO_OK) {
            s->p++;
            return epro_scan_fail(s, "invalid \\u escape in a string");
        }

        s->p += 6;

        if (c == 0) {
            epro_scan_invalid(s, "string contains U+0000");

        } else if (c >= 0xdc00 && c <= 0xdfff) {
            epro_scan_invalid(s, "string contains an unpaired surrogate");

        } else if (c >= 0xd800 && c <= 0xdbff) {
            if (s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u'
                && epro_hex4(s->p + 2, &lo) == EPRO_OK
                && lo >= 0xdc00 && lo <= 0xdfff)
            {
                s->p += 6;

            } else {
                epro_scan_invalid(s,
                                  "string contains an unpaired surrogate");
            }
        }
    }

    return epro_scan_fail(s, "unterminated string");
}


static int
epro_scan_number(epro_scan_t *s)
{
    int                   rc;
    const char           *p, *why;
    const unsigned char  *start;

    start = s->p;
    p = (const char *) start;

    rc = epro_json_number(&p, (const char *) s->end, &why);
    s->p = (const unsigned char *) p;

    if (rc == EPRO_ERROR) {
        return epro_scan_fail(s, why);
    }

    if (rc == EPRO_JSON_RANGE) {
        epro_scan_invalid(s, "number is out of range");
    }

    if (s->numbers) {
        return epro_scan_note(s, start);
    }

    return EPRO_OK;
}


int
epro_json_number(const char **pp, const char *end, const char **why)
{
    int          negative;
    char         buf[EPRO_MAX_NUMBER_BYTES + 1];
    long         exp;
    const char  *p, *start;

    start = *pp;
    p = start;
    exp = 0;
    negative = 0;

    if (p < end && *p == '-') {
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        *pp = p;
        *why = "invalid number";
        return EPRO_ERROR;
    }

    if (*p++ == '0') {
        if (p < end && *p >= '0' && *p <= '9') {
            *pp = p;
            *why = "invalid number: leading zero";
            return EPRO_ERROR;
        }

    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            *pp = p;
            *why = "invalid number: no digit after '.'";
            return EPRO_ERROR;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            negative = (*p++ == '-');
        }

        if (p == end || *p < '0' || *p > '9') {
            *pp = p;
            *why = "invalid number: empty exponent";
            return EPRO_ERROR;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            if (exp < 100000) {
                exp = exp * 10 + (*p - '0');
            }

            p++;
        }
    }

    *pp = p;

    /*
     * PostgreSQL's numeric and a double must both hold it.  Under 64
     * bytes a number reaches DBL_MAX (1.8e308) only with an exponent of
     * 245 or more: only those are converted to see ("10e308" is one).
     */

    if (p - start > EPRO_MAX_NUMBER_BYTES || exp > 308) {
        return EPRO_JSON_RANGE;
    }

    if (exp >= 245 && !negative) {
        memcpy(buf, start, p - start);
        buf[p - start] = '\0';

        if (isinf(strtod(buf, NULL))) {
            return EPRO_JSON_RANGE;
        }
    }

    return EPRO_OK;
}


/* a number's text for epro_json_check_numbers(); the array doubles */

static int
epro_scan_note(epro_scan_t *s, const unsigned char *start)
{
    size_t           cap;
    epro_str_t      *span;
    epro_numbers_t  *nums;

    nums = s->numbers;

    if (nums->n == nums->cap) {
        cap = nums->cap ? 2 * nums->cap : 32;

        span = s->alloc->alloc(s->alloc->ctx, cap * sizeof(epro_str_t));
        if (span == NULL) {
            s->nomem = 1;
            s->numbers = NULL;
            return EPRO_OK;
        }

        if (nums->n) {
            memcpy(span, nums->span, nums->n * sizeof(epro_str_t));

            if (s->alloc->free) {
                s->alloc->free(s->alloc->ctx, nums->span);
            }
        }

        nums->span = span;
        nums->cap = cap;
    }

    nums->span[nums->n].data = (const char *) start;
    nums->span[nums->n].len = s->p - start;
    nums->n++;

    return EPRO_OK;
}


static int
epro_scan_fail(epro_scan_t *s, const char *what)
{
    char  path[EPRO_SCAN_PATH_MAX];

    s->failed = 1;

    s->req->nerrors = 0;
    s->req->nfound = 0;
    s->req->truncated = 0;
    s->req->status = EPRO_STATUS_BAD_JSON;

    epro_scan_path(s, path, sizeof(path));

    if (epro_error(s->req, s->alloc, path, "malformed JSON at byte %lu: %s",
                   (unsigned long) (s->p - s->start), what)
        != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    return EPRO_ERROR;
}


static void
epro_scan_invalid(epro_scan_t *s, const char *what)
{
    char  path[EPRO_SCAN_PATH_MAX];

    s->invalid = 1;

    epro_scan_path(s, path, sizeof(path));

    if (epro_error(s->req, s->alloc, path, "%s (byte %lu)", what,
                   (unsigned long) (s->p - s->start))
        != EPRO_OK)
    {
        s->nomem = 1;
    }
}


static void
epro_scan_path(epro_scan_t *s, char *path, size_t size)
{
    size_t         i, n;
    epro_frame_t  *f;

    n = 0;
    path[0] = '\0';

    for (i = 1; i <= s->depth; i++) {
        f = &s->frames[i];

        if (f->object && f->key == NULL) {
            break;
        }

        if (n + 2 >= size) {
            break;
        }

        path[n++] = '/';

        if (!f->object) {
            n += snprintf(path + n, size - n, "%lu",
                          (unsigned long) f->index);
            if (n >= size) {
                n = size - 1;
            }

            continue;
        }

        n = epro_path_key(path, n, size, f->key, f->key_len);
    }
}


/* appends a member name, its escapes decoded, as a JSON Pointer token */

static size_t
epro_path_key(char *path, size_t n, size_t size, const char *key,
    size_t len)
{
    char                  c, *esc;
    unsigned              u, lo;
    const unsigned char  *p, *end;

    static const char  from[] = "\"\\/bfnrt";
    static const char  to[] = "\"\\/\b\f\n\r\t";

    p = (const unsigned char *) key;
    end = p + len;

    while (p < end && n + 5 < size) {
        c = (char) *p++;

        if (c == '\\' && p < end) {
            esc = strchr(from, *p);

            if (*p != 'u' && esc != NULL) {
                c = to[esc - from];
                p++;

            } else if (*p == 'u' && end - p >= 5
                       && epro_hex4(p + 1, &u) == EPRO_OK)
            {
                p += 5;

                if (u >= 0xd800 && u <= 0xdbff && end - p >= 6
                    && p[0] == '\\' && p[1] == 'u'
                    && epro_hex4(p + 2, &lo) == EPRO_OK
                    && lo >= 0xdc00 && lo <= 0xdfff)
                {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                }

                if (u < 0x80) {
                    c = (char) u;

                } else if (u < 0x800) {
                    path[n++] = (char) (0xc0 | (u >> 6));
                    path[n++] = (char) (0x80 | (u & 0x3f));
                    continue;

                } else if (u < 0x10000) {
                    path[n++] = (char) (0xe0 | (u >> 12));
                    path[n++] = (char) (0x80 | ((u >> 6) & 0x3f));
                    path[n++] = (char) (0x80 | (u & 0x3f));
                    continue;

                } else {
                    path[n++] = (char) (0xf0 | (u >> 18));
                    path[n++] = (char) (0x80 | ((u >> 12) & 0x3f));
                    path[n++] = (char) (0x80 | ((u >> 6) & 0x3f));
                    path[n++] = (char) (0x80 | (u & 0x3f));
                    continue;
                }
            }
        }

        if (c == '~' || c == '/') {
            path[n++] = '~';
            path[n++] = (c == '~') ? '0' : '1';

        } else {
            path[n++] = c;
        }
    }

    path[n] = '\0';

    return n;
}


/* length of one valid UTF-8 sequence (RFC 3629), 0 if invalid */

size_t
epro_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    size_t    n, i;
    unsigned  c, min;

    if (*p < 0x80) {
        return 1;
    }

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2; c = *p & 0x1f; min = 0x80;

    } else if ((*p & 0xf0) == 0xe0) {
        n = 3; c = *p & 0x0f; min = 0x800;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4; c = *p & 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


static int
epro_hex4(const unsigned char *p, unsigned *v)
{
    size_t    i;
    unsigned  c;

    *v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return EPRO_ERROR;
        }

        *v = (*v << 4) | c;
    }

    return EPRO_OK;
}


size_t
epro_utf8_chars(const char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


int
epro_error(epro_request_t *req, epro_alloc_t *a, const char *path,
    const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = epro_verror(req, a, path, fmt, args);
    va_end(args);

    return rc;
}


int
epro_error_at(epro_request_t *req, epro_alloc_t *a, const epro_where_t *w,
    const char *fmt, ...)
{
    int      rc;
    char     path[EPRO_PATH_MAX];
    va_list  args;

    path[0] = '\0';

    if (req->nerrors < EPRO_MAX_ERRORS) {
        epro_where_path(path, w);
    }

    va_start(args, fmt);
    rc = epro_verror(req, a, path, fmt, args);
    va_end(args);

    return rc;
}


/* the root's pointer first, then each key below it: returns its length */

static size_t
epro_where_path(char *out, const epro_where_t *w)
{
    size_t  n;

    if (w == NULL) {
        out[0] = '\0';
        return 0;
    }

    n = epro_where_path(out, w->up);

    if (w->key == NULL) {
        return n;
    }

    return epro_path_append(out, n, w->key);
}


static int
epro_verror(epro_request_t *req, epro_alloc_t *a, const char *path,
    const char *fmt, va_list args)
{
    int            n;
    char           msg[512];
    size_t         plen;
    epro_error_t  *e;

    req->nfound++;

    if (req->nerrors == EPRO_MAX_ERRORS) {
        req->truncated = 1;
        return EPRO_OK;
    }

    n = vsnprintf(msg, sizeof(msg), fmt, args);

    if (n < 0) {
        return EPRO_NOMEM;
    }

    if ((size_t) n >= sizeof(msg)) {
        n = sizeof(msg) - 1;
    }

    plen = strlen(path);

    e = &req->errors[req->nerrors];

    e->path = a->alloc(a->ctx, plen + 1 + n + 1);
    if (e->path == NULL) {
        return EPRO_NOMEM;
    }

    memcpy(e->path, path, plen + 1);
    e->message = e->path + plen + 1;
    memcpy(e->message, msg, n + 1);

    req->nerrors++;

    return EPRO_OK;
}


void
epro_path(char *out, const char *base, const char *key)
{
    size_t  n;

    n = strlen(base);
    memcpy(out, base, n);

    epro_path_append(out, n, key);
}


/* out[n..] = "/" key escaped (RFC 6901), cut at EPRO_PATH_MAX; the end */

static size_t
epro_path_append(char *out, size_t n, const char *key)
{
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

    return n;
}

int
epro_buf_reserve(epro_buf_t *b, size_t n, epro_alloc_t *a)
{
    char    *p;
    size_t   cap;

    if (b->len + n + 1 <= b->cap) {
        return EPRO_OK;
    }

    cap = b->cap ? b->cap * 2 : 256;

    while (cap < b->len + n + 1) {
        cap *= 2;
    }

    p = a->alloc(a->ctx, cap);
    if (p == NULL) {
        return EPRO_NOMEM;
    }

    if (b->data) {
        memcpy(p, b->data, b->len);

        if (a->free) {
            a->free(a->ctx, b->data);
        }
    }

    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';

    return EPRO_OK;
}


int
epro_buf_add(epro_buf_t *b, const char *s, size_t n, epro_alloc_t *a)
{
    if (epro_buf_reserve(b, n, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';

    return EPRO_OK;
}


int
epro_buf_add_json_string(epro_buf_t *b, const char *s, size_t n,
    epro_alloc_t *a)
{
    size_t                i, k;
    char                 *d;
    const unsigned char  *p, *end;

    static const char  hex[] = "0123456789abcdef";

    /* the worst case: every byte becomes \u00XX or \ufffd */
    if (epro_buf_reserve(b, n * 6 + 2, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    d = b->data + b->len;
    p = (const unsigned char *) s;
    end = p + n;

    *d++ = '"';

    while (p < end) {
        if (*p == '"' || *p == '\\') {
            *d++ = '\\';
            *d++ = *p++;

        } else if (*p < 0x20 || *p == 0x7f) {
            *d++ = '\\'; *d++ = 'u'; *d++ = '0'; *d++ = '0';
            *d++ = hex[*p >> 4];
            *d++ = hex[*p & 0xf];
            p++;

        } else if (*p < 0x80) {
            *d++ = *p++;

        } else {
            k = epro_utf8_seq(p, end);

            if (k == 0) {
                memcpy(d, "\\ufffd", 6);
                d += 6;
                p++;

            } else {
                for (i = 0; i < k; i++) {
                    *d++ = *p++;
                }
            }
        }
    }

    *d++ = '"';

    b->len = d - b->data;
    b->data[b->len] = '\0';

    return EPRO_OK;
}


int
epro_problem_json(epro_buf_t *b, int status, const char *type,
    const char *title, const char *detail, const epro_request_t *req,
    epro_alloc_t *a)
{
    char    num[32];
    size_t  i;

    snprintf(num, sizeof(num), ",\"status\":%d", status);

    if (epro_problem_add(b, "{\"type\":", type, a) != EPRO_OK
        || epro_problem_add(b, ",\"title\":", title, a) != EPRO_OK
        || epro_problem_add(b, num, NULL, a) != EPRO_OK
        || (detail
            && epro_problem_add(b, ",\"detail\":", detail, a) != EPRO_OK))
    {
        return EPRO_NOMEM;
    }

    if (req && req->nerrors) {
        if (epro_problem_add(b, ",\"errors\":[", NULL, a) != EPRO_OK) {
            return EPRO_NOMEM;
        }

        for (i = 0; i < req->nerrors; i++) {
            if (epro_problem_add(b, i ? ",{\"path\":" : "{\"path\":",
                                 req->errors[i].path, a)
                != EPRO_OK
                || epro_problem_add(b, ",\"message\":",
                                    req->errors[i].message, a)
                   != EPRO_OK
                || epro_problem_add(b, "}", NULL, a) != EPRO_OK)
            {
                return EPRO_NOMEM;
            }
        }

        if (epro_problem_add(b, req->truncated ? "],\"truncated\":true"
                                               : "]", NULL, a)
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    return epro_problem_add(b, "}\n", NULL, a);
}


/* text as it is, then s as a JSON string unless it is NULL */

static int
epro_problem_add(epro_buf_t *b, const char *text, const char *s,
    epro_alloc_t *a)
{
    if (epro_buf_add(b, text, strlen(text), a) != EPRO_OK
        || (s && epro_buf_add_json_string(b, s, strlen(s), a) != EPRO_OK))
    {
        return EPRO_NOMEM;
    }

    return EPRO_OK;
}
