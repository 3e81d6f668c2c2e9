
/*
 * The harness the unit tests share (test_core.c, test_instr.c): arenas
 * like nginx's pools, the counted checks and a string builder.
 *
 * An arena bumps through malloc'd chunks, its free is a no-op, new memory
 * is filled with garbage (a pool does not zero) and the whole arena is
 * released at once.  With -DARENA_EXACT every allocation gets a chunk of
 * exactly its own size, so that ASan sees any overrun.  An arena's
 * fail_after makes it refuse allocations, to test running out of memory.
 *
 * Each check counts once (check_loop() counts only a failure, for one
 * step of a long loop).  A failure prints "file:line: ..."; the last line
 * of a run is "N passed, M failed" (harness_report()).
 */


#ifndef _HARNESS_H_INCLUDED_
#define _HARNESS_H_INCLUDED_


#include <stddef.h>

#include "epro_core.h"


#define NELTS(a)  (sizeof(a) / sizeof((a)[0]))
#define AT        __FILE__, __LINE__


typedef struct arena_chunk_s  arena_chunk_t;

typedef struct {
    arena_chunk_t  *chunks;
    char           *pos;
    char           *end;
    size_t          nallocs;
    long            fail_after;     /* -1: never; n: the n+1th fails */
} arena_t;


#define ARENA_INIT  { NULL, NULL, NULL, 0, -1 }


/*
 * Called first: name prefixes the messages of a fatal error ("test_core:
 * out of memory"), test_alloc() draws from arena, and a failed check_mem()
 * or print_esc() shows at most esc_max bytes of a text.
 */
void harness_init(const char *name, arena_t *arena, size_t esc_max);

/* prints "N passed, M failed"; returns the exit status, 1 if any failed */
int harness_report(void);


/* the epro_alloc_t of an arena: ctx is the arena_t */
void *arena_alloc(void *ctx, size_t size);
void arena_free(void *ctx, void *p);
void arena_release(arena_t *ar);

/* the tests' own memory: never refused, not counted */
void *test_alloc(size_t size);

/* a copy with no NUL after it: under -DARENA_EXACT ASan sees overreads */
char *exact_copy(const char *s, size_t n);


void print_esc(const char *s, size_t n);
int check(const char *file, int line, int ok, const char *fmt, ...);
int check_loop(const char *file, int line, int ok, const char *fmt, ...);
int check_int(const char *file, int line, const char *what, long got,
    long want);
int check_mem(const char *file, int line, const char *what, const char *got,
    size_t glen, const char *want, size_t wlen);
int check_str(const char *file, int line, const char *what, const char *got,
    const char *want);

/* the errors of a request, one a line, after a failed check */
void dump_errors(const epro_request_t *req);

/*
 * epro_parse()'s or epro_json_check()'s verdict as one value: EPRO_OK,
 * EPRO_NOMEM, or for EPRO_ERROR the req->status it left (EPRO_ERROR if
 * that is not a refusal)
 */
int outcome(int rc, const epro_request_t *req);


#define CHECK(cond)                                                         \
    check(AT, (cond) != 0, "check failed: %s", #cond)
#define CHECK_INT(what, got, want)                                          \
    check_int(AT, what, (long) (got), (long) (want))
#define CHECK_STR(what, got, want)                                          \
    check_str(AT, what, got, want)


/* a string builder on test_alloc()'s arena: data is NUL-terminated */

typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} sb_t;


void sb_addn(sb_t *b, const char *s, size_t n);
void sb_add(sb_t *b, const char *s);
void sb_addf(sb_t *b, const char *fmt, ...);
void sb_rep(sb_t *b, const char *s, size_t count);


#endif /* _HARNESS_H_INCLUDED_ */
