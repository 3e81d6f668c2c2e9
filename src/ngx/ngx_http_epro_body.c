
/*
 * The body of a submission: gathered into one string for the core, in
 * the worker's parse arena when nginx left it in pieces, and given back
 * once its rows are queued.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_body.h"


/* parse arena: chunk size, and what is kept between bodies */
#define NGX_HTTP_EPRO_CHUNK       (64 * 1024)
#define NGX_HTTP_EPRO_ARENA_KEEP  (2 * 1024 * 1024)


typedef struct ngx_http_epro_body_chunk_s  ngx_http_epro_body_chunk_t;

struct ngx_http_epro_body_chunk_s {
    ngx_http_epro_body_chunk_t  *next;
    u_char                      *end;
};


typedef struct {
    ngx_http_epro_body_chunk_t  *first;
    ngx_http_epro_body_chunk_t  *cur;    /* NULL: nothing allocated yet */
    u_char                      *pos;
} ngx_http_epro_body_arena_t;


static void *ngx_http_epro_body_alloc(void *ctx, size_t size);


/*
 * Parsing, checking and encoding a body run in one call, so one arena per
 * worker serves every request: what the core allocates (the parse tree,
 * strings, error messages, a gathered body) lives there until the rows
 * are queued and the arena is reset, and only the submissions' fields
 * are copied to the request pool.  Chunks are kept for the next body (up to
 * NGX_HTTP_EPRO_ARENA_KEEP): no heap call per request in steady state,
 * and a request waiting for its commit holds a few hundred bytes per
 * submission, not its parse tree.
 */

static ngx_http_epro_body_arena_t  ngx_http_epro_body_arena;


/* an allocator for the core, from the arena until the next reset */

void
ngx_http_epro_body_allocator(epro_alloc_t *a)
{
    a->alloc = ngx_http_epro_body_alloc;
    a->free = NULL;
    a->ctx = &ngx_http_epro_body_arena;
}


/* the body as one string: nginx's buffer itself, else gathered in a */

ngx_int_t
ngx_http_epro_body_gather(ngx_http_request_t *r, ngx_str_t *body,
    epro_alloc_t *a)
{
    off_t                     len;
    size_t                    size;
    u_char                   *p, *last;
    ssize_t                   n;
    ngx_buf_t                *buf;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    /*
     * With request_body_in_single_buf nginx makes room for the part read
     * with the header at the end of the body's buffer but leaves it in
     * its own buffer: move it in, and the body is one string.
     */

    rb = r->request_body;
    cl = rb->bufs;

    if (!r->headers_in.chunked && r->header_in
        && rb->buf && cl->next && cl->next->next == NULL
        && !cl->buf->in_file
        && cl->buf->pos >= r->header_in->start
        && cl->buf->last <= r->header_in->end
        && cl->next->buf->last == rb->buf->last
        && cl->next->buf->end == rb->buf->end)
    {
        buf = cl->next->buf;
        size = cl->buf->last - cl->buf->pos;

        if ((size_t) (buf->end - buf->last) >= size) {
            ngx_memmove(buf->pos + size, buf->pos, buf->last - buf->pos);
            ngx_memcpy(buf->pos, cl->buf->pos, size);
            buf->last += size;

            rb->bufs = cl->next;
        }
    }

    /*
     * Buffers that follow each other in memory (one recv() after another
     * into the same block) are one string too; empty ones are skipped.
     */

    p = NULL;
    last = NULL;

    for (cl = rb->bufs; cl; cl = cl->next) {
        buf = cl->buf;

        if (buf->in_file || (p && buf->pos != buf->last && buf->pos != last)) {
            break;
        }

        if (buf->pos != buf->last) {
            p = p ? p : buf->pos;
            last = buf->last;
        }
    }

    if (cl == NULL) {
        if (p) {
            body->data = p;
            body->len = last - p;
        }

        return NGX_OK;
    }

    len = 0;

    for (cl = rb->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    p = a->alloc(a->ctx, (size_t) len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = (size_t) len;

    for (cl = rb->bufs; cl; cl = cl->next) {
        buf = cl->buf;

        if (!buf->in_file) {
            p = ngx_cpymem(p, buf->pos, buf->last - buf->pos);
            continue;
        }

        size = (size_t) (buf->file_last - buf->file_pos);

        n = ngx_read_file(buf->file, p, size, buf->file_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "epro: short read of the body file: "
                          "%z of %uz bytes", n, size);
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';

    return NGX_OK;
}


/*
 * Once the rows are copied into a batch the body is not read again: its
 * buffer goes back now, not when the commit answers.  nginx allocated it
 * from the request pool, outside the pool's blocks when over 4 KB, so
 * ngx_pfree() can release it.  $request_body is empty afterwards.
 */

void
ngx_http_epro_body_drop(ngx_http_request_t *r)
{
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    /* a subrequest (mirror) reads its parent's body: not ours to free */

    if (rb == NULL || rb->rest != 0 || r != r->main) {
        return;
    }

#if (NGX_HTTP_V2)
    if (r->stream) {
        return;
    }
#endif

    if (rb->buf && rb->buf->start) {
        (void) ngx_pfree(r->pool, rb->buf->start);
    }

    rb->buf = NULL;
    rb->bufs = NULL;
}


/* 1: p is in the arena, so gone at the next reset; else nginx's memory */

ngx_uint_t
ngx_http_epro_body_in_arena(const u_char *p)
{
    ngx_http_epro_body_chunk_t  *c;

    for (c = ngx_http_epro_body_arena.first; c; c = c->next) {
        if (p >= (u_char *) (c + 1) && p < c->end) {
            return 1;
        }
    }

    return 0;
}


static void *
ngx_http_epro_body_alloc(void *ctx, size_t size)
{
    size_t                       n;
    u_char                      *p;
    ngx_http_epro_body_chunk_t  *c, *next;
    ngx_http_epro_body_arena_t  *a = ctx;

    size = ngx_align(size, NGX_ALIGNMENT);

    if (a->cur && (size_t) (a->cur->end - a->pos) >= size) {
        p = a->pos;
        a->pos += size;
        return p;
    }

    next = a->cur ? a->cur->next : a->first;

    if (next && (size_t) (next->end - (u_char *) (next + 1)) >= size) {
        c = next;

    } else {
        /* a new chunk, before the next kept one if that is too small */

        n = ngx_max(NGX_HTTP_EPRO_CHUNK,
                    sizeof(ngx_http_epro_body_chunk_t) + size);

        c = ngx_alloc(n, ngx_cycle->log);
        if (c == NULL) {
            return NULL;
        }

        c->end = (u_char *) c + n;
        c->next = next;

        if (a->cur) {
            a->cur->next = c;

        } else {
            a->first = c;
        }
    }

    a->cur = c;
    p = (u_char *) (c + 1);
    a->pos = p + size;

    return p;
}


/* rewinds the arena; chunks beyond NGX_HTTP_EPRO_ARENA_KEEP are freed */

void
ngx_http_epro_body_reset(void)
{
    size_t                       kept;
    ngx_http_epro_body_chunk_t  *c, **pc;
    ngx_http_epro_body_arena_t  *a;

    a = &ngx_http_epro_body_arena;

    kept = 0;
    pc = &a->first;

    while (*pc) {
        c = *pc;

        if (kept + (size_t) (c->end - (u_char *) c)
            <= NGX_HTTP_EPRO_ARENA_KEEP)
        {
            kept += c->end - (u_char *) c;
            pc = &c->next;
            continue;
        }

        *pc = c->next;
        ngx_free(c);
    }

    a->cur = NULL;
    a->pos = NULL;
}


/* at the worker's exit */

void
ngx_http_epro_body_free(void)
{
    ngx_http_epro_body_chunk_t  *c;

    while (ngx_http_epro_body_arena.first) {
        c = ngx_http_epro_body_arena.first;
        ngx_http_epro_body_arena.first = c->next;
        ngx_free(c);
    }

    ngx_http_epro_body_arena.cur = NULL;
    ngx_http_epro_body_arena.pos = NULL;
}

