
/*
 * The harness the unit tests share; see harness.h.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"


static const char     *harness_name = "harness";
static arena_t        *harness_arena;
static size_t          harness_esc_max = 160;

static unsigned long   npassed, nfailed;


void
harness_init(const char *name, arena_t *arena, size_t esc_max)
{
    harness_name = name;
    harness_arena = arena;
    harness_esc_max = esc_max;

    /* a crash must not eat the failures printed before it */
    setvbuf(stdout, NULL, _IOLBF, 0);
}


int
harness_report(void)
{
    printf("%lu passed, %lu failed\n", npassed, nfailed);

    return nfailed ? 1 : 0;
}


/* ------------------------------------------------------------------ */
/* arenas                                                              */


#define ARENA_CHUNK  16384
#define ARENA_FILL   0xa5


typedef union {
    long double   ld;
    long long     ll;
    double        d;
    void         *p;
    void        (*f)(void);
} arena_align_t;


#define ARENA_ALIGN  sizeof(arena_align_t)
#define ARENA_ROUND(n)  (((n) + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1))


struct arena_chunk_s {
    arena_chunk_t  *next;
};


#define ARENA_HDR  ARENA_ROUND(sizeof(arena_chunk_t))


static char *
arena_chunk(arena_t *ar, size_t size)
{
    arena_chunk_t  *c;

    c = malloc(ARENA_HDR + size);
    if (c == NULL) {
        fprintf(stderr, "%s: out of memory\n", harness_name);
        exit(2);
    }

    c->next = ar->chunks;
    ar->chunks = c;

    return (char *) c + ARENA_HDR;
}


void *
arena_alloc(void *ctx, size_t size)
{
    char     *p;
    arena_t  *ar;

    ar = ctx;

    if (ar->fail_after >= 0 && ar->nallocs >= (size_t) ar->fail_after) {
        return NULL;
    }

    ar->nallocs++;

#ifdef ARENA_EXACT
    p = arena_chunk(ar, size);

#else
    size = ARENA_ROUND(size ? size : 1);

    if (size > ARENA_CHUNK / 4) {
        p = arena_chunk(ar, size);

    } else {
        if (ar->pos == NULL || (size_t) (ar->end - ar->pos) < size) {
            ar->pos = arena_chunk(ar, ARENA_CHUNK);
            ar->end = ar->pos + ARENA_CHUNK;
        }

        p = ar->pos;
        ar->pos += size;
    }
#endif

    memset(p, ARENA_FILL, size);

    return p;
}


void
arena_free(void *ctx, void *p)
{
    (void) ctx;
    (void) p;
}


void
arena_release(arena_t *ar)
{
    arena_chunk_t  *c, *next;

    for (c = ar->chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    ar->chunks = NULL;
    ar->pos = NULL;
    ar->end = NULL;
    ar->nallocs = 0;
    ar->fail_after = -1;
}


void *
test_alloc(size_t size)
{
    void     *p;
    long      fail_after;
    size_t    nallocs;
    arena_t  *ar;

    ar = harness_arena;

    fail_after = ar->fail_after;
    nallocs = ar->nallocs;
    ar->fail_after = -1;

    p = arena_alloc(ar, size);

    ar->fail_after = fail_after;
    ar->nallocs = nallocs;

    if (p == NULL) {
        fprintf(stderr, "%s: out of memory\n", harness_name);
        exit(2);
    }

    return p;
}


char *
exact_copy(const char *s, size_t n)
{
    char  *p;

    p = test_alloc(n);

    memcpy(p, s, n);

    return p;
}


/* ------------------------------------------------------------------ */
/* checks                                                              */


void
print_esc(const char *s, size_t n)
{
    size_t         i;
    unsigned char  c;

    if (s == NULL) {
        fputs("(null)", stdout);
        return;
    }

    putchar('"');

    for (i = 0; i < n && i < harness_esc_max; i++) {
        c = (unsigned char) s[i];

        if (c == '"' || c == '\\') {
            printf("\\%c", c);

        } else if (c < 0x20 || c >= 0x7f) {
            printf("\\x%02x", c);

        } else {
            putchar(c);
        }
    }

    if (n > harness_esc_max) {
        printf("...(%lu bytes)", (unsigned long) n);
    }

    putchar('"');
}


static void
check_failed(const char *file, int line, const char *fmt, va_list args)
{
    nfailed++;

    printf("%s:%d: ", file, line);
    vprintf(fmt, args);
    putchar('\n');
}


int
check(const char *file, int line, int ok, const char *fmt, ...)
{
    va_list  args;

    if (ok) {
        npassed++;
        return 1;
    }

    va_start(args, fmt);
    check_failed(file, line, fmt, args);
    va_end(args);

    return 0;
}


/* the same, for one step of a long loop: only a failure counts */

int
check_loop(const char *file, int line, int ok, const char *fmt, ...)
{
    va_list  args;

    if (ok) {
        return 1;
    }

    va_start(args, fmt);
    check_failed(file, line, fmt, args);
    va_end(args);

    return 0;
}


int
check_int(const char *file, int line, const char *what, long got, long want)
{
    return check(file, line, got == want, "%s: got %ld, want %ld",
                 what, got, want);
}


int
check_mem(const char *file, int line, const char *what, const char *got,
    size_t glen, const char *want, size_t wlen)
{
    if (got != NULL && want != NULL && glen == wlen
        && memcmp(got, want, wlen) == 0)
    {
        npassed++;
        return 1;
    }

    nfailed++;

    printf("%s:%d: %s:\n    got  ", file, line, what);
    print_esc(got, glen);
    printf("\n    want ");
    print_esc(want, wlen);
    putchar('\n');

    return 0;
}


int
check_str(const char *file, int line, const char *what, const char *got,
    const char *want)
{
    return check_mem(file, line, what, got, got ? strlen(got) : 0,
                     want, want ? strlen(want) : 0);
}


void
dump_errors(const epro_request_t *req)
{
    size_t  i;

    for (i = 0; i < req->nerrors && i < EPRO_MAX_ERRORS; i++) {
        printf("    error ");
        print_esc(req->errors[i].path, strlen(req->errors[i].path));
        printf(": %s\n", req->errors[i].message);
    }
}


int
outcome(int rc, const epro_request_t *req)
{
    if (rc != EPRO_ERROR) {
        return rc;
    }

    if (req->status == EPRO_STATUS_BAD_JSON
        || req->status == EPRO_STATUS_INVALID)
    {
        return req->status;
    }

    return EPRO_ERROR;
}


/* ------------------------------------------------------------------ */
/* a string builder                                                    */


void
sb_addn(sb_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 64;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }

        p = test_alloc(cap);

        if (b->len) {
            memcpy(p, b->data, b->len);
        }

        b->data = p;
        b->cap = cap;
    }

    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}


void
sb_add(sb_t *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}


void
sb_addf(sb_t *b, const char *fmt, ...)
{
    int      n;
    char    *tmp;
    va_list  args;

    va_start(args, fmt);
    n = vsnprintf(NULL, 0, fmt, args);
    va_end(args);

    if (n < 0) {
        fprintf(stderr, "%s: sb_addf(\"%s\") failed\n", harness_name, fmt);
        exit(2);
    }

    tmp = test_alloc(n + 1);

    va_start(args, fmt);
    vsnprintf(tmp, n + 1, fmt, args);
    va_end(args);

    sb_addn(b, tmp, n);
}


void
sb_rep(sb_t *b, const char *s, size_t count)
{
    while (count--) {
        sb_add(b, s);
    }
}
