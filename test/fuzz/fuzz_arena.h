
/*
 * What both fuzz targets share: the invariant check, and an arena like
 * nginx's request pool (free is a no-op, new memory is garbage, every
 * allocation a malloc block of its own so that ASan sees any overrun, all
 * released at once).  Included by one .c each: the functions are static.
 */


#ifndef _FUZZ_ARENA_H_INCLUDED_
#define _FUZZ_ARENA_H_INCLUDED_


#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_FILL  0xa5


#define fuzz_assert(c)                                                      \
    if (!(c)) fuzz_fail(__FILE__, __LINE__, #c)


typedef struct {
    void          **blocks;
    size_t          n;
    size_t          cap;
} fuzz_arena_t;


static void fuzz_fail(const char *file, int line, const char *what);


static void
fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}


static void *
fuzz_arena_alloc(void *ctx, size_t size)
{
    void          *p, **blocks;
    size_t         cap;
    fuzz_arena_t  *ar;

    ar = ctx;

    if (ar->n == ar->cap) {
        cap = ar->cap ? ar->cap * 2 : 256;
        blocks = realloc(ar->blocks, cap * sizeof(void *));
        fuzz_assert(blocks != NULL);
        ar->blocks = blocks;
        ar->cap = cap;
    }

    p = malloc(size ? size : 1);
    fuzz_assert(p != NULL);

    /* a pool does not zero what it hands out */
    memset(p, FUZZ_FILL, size);

    ar->blocks[ar->n++] = p;

    return p;
}


static void
fuzz_arena_free(void *ctx, void *p)
{
    (void) ctx;
    (void) p;
}


static void
fuzz_arena_release(fuzz_arena_t *ar)
{
    size_t  i;

    for (i = 0; i < ar->n; i++) {
        free(ar->blocks[i]);
    }

    ar->n = 0;
}


#endif /* _FUZZ_ARENA_H_INCLUDED_ */
