/*
 * LD_PRELOAD heap-call counter for the nginx workers (bench/run.sh).
 *
 *   gcc -O2 -shared -fPIC -o malloc_count.so malloc_count.c
 *   MALLOC_COUNT_DIR=/tmp/x LD_PRELOAD=./malloc_count.so nginx ...
 *
 * Counts malloc, calloc, realloc, free and the aligned allocators
 * (posix_memalign, memalign, aligned_alloc, valloc: nginx's pools use
 * posix_memalign) and the bytes asked for.  The counters are written to
 * $MALLOC_COUNT_DIR/malloc.<pid> (one "name value" per line, the file
 * replaced each time) on SIGRTMIN+5 and at exit.  nginx handles none of the
 * real-time signals, so the handler installed here at load time survives
 * in the master and in every forked worker.
 *
 * The real allocator is reached through glibc's __libc_* entry points, so
 * nothing here allocates (no dlsym bootstrap problem).  Counters are
 * relaxed atomics: the workers are single-threaded, libpq or a thread pool
 * would still count correctly.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void  __libc_free(void *p);
extern void *__libc_memalign(size_t alignment, size_t size);


enum {
    MC_MALLOC = 0,
    MC_CALLOC,
    MC_REALLOC,
    MC_FREE,
    MC_FREE_NULL,
    MC_MEMALIGN,        /* posix_memalign, memalign, aligned_alloc, valloc */
    MC_BYTES,
    MC_LIVE,            /* bytes held now (malloc_usable_size) */
    MC_PEAK,            /* most bytes held at once */
    MC_N
};


static const char  *mc_names[MC_N] = {
    "malloc", "calloc", "realloc", "free", "free_null", "memalign", "bytes",
    "live", "peak"
};

static uint64_t     mc[MC_N];
static char         mc_dir[512];


#define mc_add(i, n)  __atomic_fetch_add(&mc[i], (n), __ATOMIC_RELAXED)


static void *
mc_held(void *p)
{
    uint64_t  live, peak;

    if (p == NULL) {
        return p;
    }

    live = __atomic_add_fetch(&mc[MC_LIVE], malloc_usable_size(p),
                              __ATOMIC_RELAXED);
    peak = __atomic_load_n(&mc[MC_PEAK], __ATOMIC_RELAXED);

    while (live > peak
           && !__atomic_compare_exchange_n(&mc[MC_PEAK], &peak, live, 1,
                                           __ATOMIC_RELAXED,
                                           __ATOMIC_RELAXED))
    {
        /* peak reloaded */
    }

    return p;
}


static void
mc_released(void *p)
{
    if (p != NULL) {
        __atomic_fetch_sub(&mc[MC_LIVE], malloc_usable_size(p),
                           __ATOMIC_RELAXED);
    }
}


void *
malloc(size_t size)
{
    mc_add(MC_MALLOC, 1);
    mc_add(MC_BYTES, size);
    return mc_held(__libc_malloc(size));
}


void *
calloc(size_t n, size_t size)
{
    mc_add(MC_CALLOC, 1);
    mc_add(MC_BYTES, n * size);
    return mc_held(__libc_calloc(n, size));
}


void *
realloc(void *p, size_t size)
{
    void  *np;

    mc_add(MC_REALLOC, 1);
    mc_add(MC_BYTES, size);

    if (p != NULL) {
        __atomic_fetch_sub(&mc[MC_LIVE], malloc_usable_size(p),
                           __ATOMIC_RELAXED);
    }

    np = __libc_realloc(p, size);

    if (np == NULL && p != NULL && size != 0) {
        mc_held(p);             /* the old block is still held */
        return np;
    }

    return mc_held(np);
}


void
free(void *p)
{
    mc_add(p ? MC_FREE : MC_FREE_NULL, 1);
    mc_released(p);
    __libc_free(p);
}


int
posix_memalign(void **out, size_t alignment, size_t size)
{
    void  *p;

    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) {
        return EINVAL;
    }

    mc_add(MC_MEMALIGN, 1);
    mc_add(MC_BYTES, size);

    p = mc_held(__libc_memalign(alignment, size));
    if (p == NULL) {
        return ENOMEM;
    }

    *out = p;
    return 0;
}


void *
memalign(size_t alignment, size_t size)
{
    mc_add(MC_MEMALIGN, 1);
    mc_add(MC_BYTES, size);
    return mc_held(__libc_memalign(alignment, size));
}


void *
aligned_alloc(size_t alignment, size_t size)
{
    mc_add(MC_MEMALIGN, 1);
    mc_add(MC_BYTES, size);
    return mc_held(__libc_memalign(alignment, size));
}


void *
valloc(size_t size)
{
    mc_add(MC_MEMALIGN, 1);
    mc_add(MC_BYTES, size);
    return mc_held(__libc_memalign((size_t) sysconf(_SC_PAGESIZE), size));
}


/* async-signal-safe formatting: no stdio */

static char *
mc_str(char *p, const char *s)
{
    while (*s) {
        *p++ = *s++;
    }

    return p;
}


static char *
mc_num(char *p, uint64_t v)
{
    char    tmp[24];
    size_t  n;

    n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    while (n) {
        *p++ = tmp[--n];
    }

    return p;
}


static void
mc_dump(void)
{
    int      fd, saved;
    char     path[600], tmp[620], buf[512], *p;
    size_t   i;

    if (mc_dir[0] == '\0') {
        return;
    }

    saved = errno;

    p = mc_str(path, mc_dir);
    p = mc_str(p, "/malloc.");
    p = mc_num(p, (uint64_t) getpid());
    *p = '\0';

    p = mc_str(tmp, path);
    p = mc_str(p, ".tmp");
    *p = '\0';

    p = buf;

    for (i = 0; i < MC_N; i++) {
        p = mc_str(p, mc_names[i]);
        *p++ = ' ';
        p = mc_num(p, __atomic_load_n(&mc[i], __ATOMIC_RELAXED));
        *p++ = '\n';
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd >= 0) {
        if (write(fd, buf, (size_t) (p - buf)) == p - buf) {
            close(fd);
            rename(tmp, path);      /* readers see whole files only */

        } else {
            close(fd);
        }
    }

    errno = saved;
}


static void
mc_signal(int signo)
{
    (void) signo;
    mc_dump();
}


__attribute__((constructor))
static void
mc_init(void)
{
    const char       *dir;
    struct sigaction  sa;

    dir = getenv("MALLOC_COUNT_DIR");

    if (dir == NULL || strlen(dir) >= sizeof(mc_dir)) {
        return;
    }

    strcpy(mc_dir, dir);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mc_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN + 5, &sa, NULL);
}


__attribute__((destructor))
static void
mc_fini(void)
{
    mc_dump();
}
