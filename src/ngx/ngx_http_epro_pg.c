
/*
 * The database side: per worker, a pool of non-blocking libpq connections
 * driven by nginx events, and a queue of batches.  Rows are copied into the
 * batch at enqueue; a batch is sent the moment a connection is idle (or
 * after epro_batch_max_delay) as one prepared, set-based INSERT.  The only
 * file that includes libpq-fe.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <libpq-fe.h>

#include "ngx_http_epro.h"


#define NGX_HTTP_EPRO_STMT         "epro_insert"
#define NGX_HTTP_EPRO_BACKOFF_MIN  100
#define NGX_HTTP_EPRO_BACKOFF_MAX  1000
#define NGX_HTTP_EPRO_KEEP_BYTES   (64 * 1024)


typedef enum {
    ngx_http_epro_pg_down = 0,
    ngx_http_epro_pg_connecting,
    ngx_http_epro_pg_preparing,
    ngx_http_epro_pg_idle,
    ngx_http_epro_pg_busy
} ngx_http_epro_pg_state_e;


struct ngx_http_epro_batch_s {
    ngx_queue_t                  queue;     /* pending or free */
    ngx_queue_t                  waiters;
    epro_rows_t                  rows;
    u_char                      *inserted;
    size_t                       inserted_size;
    size_t                       bytes;     /* of its rows */
    ngx_msec_t                   created;
    ngx_msec_t                   sent;
    char                         sqlstate[6];
    unsigned                     alone:1;
};


typedef struct {
    PGconn                      *conn;
    ngx_connection_t            *c;
    ngx_http_epro_pg_state_e     state;
    ngx_http_epro_batch_t       *batch;
    PGresult                    *result;
    char                         sqlstate[6];
    ngx_uint_t                   index;
    ngx_msec_t                   backoff;
    ngx_msec_t                   sent;
    ngx_event_t                  timer;
    ngx_log_t                    log;
    unsigned                     failed:1;
    unsigned                     was_up:1;
    unsigned                     reported:1;
} ngx_http_epro_pg_conn_t;


typedef struct {
    ngx_http_epro_main_conf_t   *conf;
    ngx_http_epro_pg_conn_t     *conns;
    ngx_uint_t                   nconns;
    ngx_queue_t                  pending;
    ngx_queue_t                  free;
    ngx_uint_t                   nfree;
    ngx_uint_t                   queued_rows;
    size_t                       bytes;       /* of batches, sent or not */
    size_t                       reserved;    /* for bodies being read */
    ngx_queue_t                  waiting;     /* for room, bodies unread */
    ngx_uint_t                   nwaiting;
    ngx_uint_t                   refused;     /* while the queue was full */
    ngx_event_t                  timer;
    ngx_event_t                  post;
    ngx_event_t                  wake;
    ngx_log_t                   *log;
    epro_alloc_t                 heap;
} ngx_http_epro_pg_t;


static void ngx_http_epro_pg_state(ngx_http_epro_pg_conn_t *pc,
    ngx_http_epro_pg_state_e state);
static void ngx_http_epro_pg_queued(ngx_int_t rows, ngx_int_t bytes);
static ngx_uint_t ngx_http_epro_pg_room(size_t size);
static void ngx_http_epro_pg_reserve(ngx_http_epro_ctx_t *ctx);
static void ngx_http_epro_pg_wake(void);
static void ngx_http_epro_pg_wake_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_connect(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_poll(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_connected(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_timer_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_epro_pg_flush(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_result(ngx_http_epro_pg_conn_t *pc,
    PGresult *res);
static void ngx_http_epro_pg_done(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_send(ngx_http_epro_pg_conn_t *pc,
    ngx_http_epro_batch_t *b);
static void ngx_http_epro_pg_fail(ngx_http_epro_pg_conn_t *pc,
    const char *what);
static void ngx_http_epro_pg_close(ngx_http_epro_pg_conn_t *pc);
static ngx_int_t ngx_http_epro_pg_watch(ngx_http_epro_pg_conn_t *pc,
    ngx_int_t event);
static void ngx_http_epro_pg_unwatch(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_dispatch(void);
static void ngx_http_epro_pg_queue_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_post_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_finish(ngx_http_epro_batch_t *b,
    ngx_int_t status);
static ngx_http_epro_batch_t *ngx_http_epro_pg_batch(void);
static ngx_int_t ngx_http_epro_pg_add(ngx_http_epro_batch_t *b,
    ngx_http_epro_ctx_t *ctx, ngx_http_epro_batch_t *src);
static void ngx_http_epro_pg_split(ngx_http_epro_batch_t *b);
static void ngx_http_epro_pg_recycle(ngx_http_epro_batch_t *b);
static ngx_uint_t ngx_http_epro_pg_row_error(const char *sqlstate);
static void ngx_http_epro_pg_notice(void *arg, const PGresult *res);
static const char *ngx_http_epro_pg_error(ngx_http_epro_pg_conn_t *pc);
static void *ngx_http_epro_pg_alloc(void *ctx, size_t size);
static void ngx_http_epro_pg_free(void *ctx, void *p);


static ngx_http_epro_pg_t  ngx_http_epro_pg;


/*
 * The rows of a batch arrive as one text array per column; WITH ORDINALITY
 * numbers them.  A row is inserted if it is the first of its id in the
 * batch and the id was new; the result names the others, the duplicates,
 * so that the usual answer is no row at all (nothing for libpq to build).
 */

static const char  ngx_http_epro_pg_setup_fmt[] =
    "SET statement_timeout = %M; PREPARE " NGX_HTTP_EPRO_STMT " AS ";

static const char  ngx_http_epro_pg_sql_fmt[] =
    "WITH u AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::timestamptz[], "
    "$8::timestamptz[], $9::text[], $10::inet[]) WITH ORDINALITY "
    "AS u(submission_id, study_id, site_id, subject_id, visit_name, "
    "instrument, collected_at, received_at, payload, client_addr, n)), "
    "ins AS (INSERT INTO %V (submission_id, study_id, site_id, subject_id, "
    "visit_name, instrument, collected_at, received_at, answers, payload, "
    "client_addr) "
    "SELECT submission_id, study_id, site_id, subject_id, visit_name, "
    "instrument, collected_at, received_at, payload::jsonb -> 'answers', "
    "payload, client_addr FROM u ORDER BY n "
    "ON CONFLICT (submission_id) DO NOTHING RETURNING submission_id) "
    "SELECT n FROM u EXCEPT "
    "SELECT min(u.n) FROM ins JOIN u USING (submission_id) "
    "GROUP BY submission_id";


ngx_int_t
ngx_http_epro_pg_sql(ngx_conf_t *cf, ngx_http_epro_main_conf_t *emcf)
{
    u_char  *p;

    p = ngx_pnalloc(cf->pool, sizeof(ngx_http_epro_pg_sql_fmt)
                              + sizeof(ngx_http_epro_pg_setup_fmt)
                              + NGX_INT_T_LEN + emcf->table.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /*
     * The server gives up on a statement a second after nginx does, so that
     * a batch stuck behind a lock does not outlive its 504 for long.
     */

    emcf->sql.data = p;
    p = ngx_sprintf(p, ngx_http_epro_pg_setup_fmt, emcf->timeout + 1000);
    p = ngx_sprintf(p, ngx_http_epro_pg_sql_fmt, &emcf->table);
    *p = '\0';
    emcf->sql.len = p - emcf->sql.data;

    return NGX_OK;
}


/*
 * The connection string is parsed when the configuration is read, so that
 * a typo fails `nginx -t`.  libpq's message is not repeated: it may quote
 * a piece of the string, and the string may hold a password.
 */

ngx_int_t
ngx_http_epro_pg_check_conninfo(ngx_conf_t *cf,
    ngx_http_epro_main_conf_t *emcf)
{
    char              *err;
    PQconninfoOption  *opts;

    err = NULL;
    opts = PQconninfoParse((const char *) emcf->conninfo.data, &err);

    if (opts == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"epro_pg_conninfo\" is not a valid libpq "
                           "connection string or URI");
        PQfreemem(err);
        return NGX_ERROR;
    }

    PQconninfoFree(opts);

    return NGX_OK;
}


ngx_int_t
ngx_http_epro_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_epro_main_conf_t *emcf)
{
    ngx_uint_t                i;
    ngx_http_epro_pg_t       *pg;
    ngx_http_epro_pg_conn_t  *pc;

    pg = &ngx_http_epro_pg;

    pg->conf = emcf;
    pg->log = cycle->log;
    pg->nconns = emcf->pool_size;
    pg->heap.alloc = ngx_http_epro_pg_alloc;
    pg->heap.free = ngx_http_epro_pg_free;
    pg->heap.ctx = cycle->log;

    ngx_queue_init(&pg->pending);
    ngx_queue_init(&pg->free);
    ngx_queue_init(&pg->waiting);

    pg->timer.handler = ngx_http_epro_pg_queue_handler;
    pg->timer.log = cycle->log;
    pg->timer.data = pg;

    pg->post.handler = ngx_http_epro_pg_post_handler;
    pg->post.log = cycle->log;
    pg->post.data = pg;

    pg->wake.handler = ngx_http_epro_pg_wake_handler;
    pg->wake.log = cycle->log;
    pg->wake.data = pg;

    pg->conns = ngx_pcalloc(cycle->pool,
                            pg->nconns * sizeof(ngx_http_epro_pg_conn_t));
    if (pg->conns == NULL) {
        return NGX_ERROR;
    }

    ngx_http_epro_claim_slot();

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];

        pc->index = i;
        pc->log = *cycle->log;
        pc->log.action = NULL;

        pc->timer.handler = ngx_http_epro_pg_timer_handler;
        pc->timer.log = &pc->log;
        pc->timer.data = pc;

        ngx_http_epro_count_state(-1, ngx_http_epro_pg_down);
        ngx_http_epro_pg_connect(pc);
    }

    return NGX_OK;
}


void
ngx_http_epro_pg_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                i;
    ngx_queue_t              *q;
    ngx_http_epro_pg_t       *pg;
    ngx_http_epro_batch_t    *b;
    ngx_http_epro_pg_conn_t  *pc;

    pg = &ngx_http_epro_pg;

    if (pg->conns == NULL) {
        return;
    }

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];

        if (pc->timer.timer_set) {
            ngx_del_timer(&pc->timer);
        }

        ngx_http_epro_pg_close(pc);
        ngx_http_epro_count_state(pc->state, -1);
    }

    ngx_http_epro_count_queue(-(ngx_int_t) pg->queued_rows);
    ngx_http_epro_count_room(-(ngx_int_t) (pg->bytes + pg->reserved),
                             -(ngx_int_t) pg->nwaiting);
    ngx_http_epro_release_slot();

    if (pg->timer.timer_set) {
        ngx_del_timer(&pg->timer);
    }

    if (pg->post.posted) {
        ngx_delete_posted_event(&pg->post);
    }

    if (pg->wake.posted) {
        ngx_delete_posted_event(&pg->wake);
    }

    while (!ngx_queue_empty(&pg->free)) {
        q = ngx_queue_head(&pg->free);
        ngx_queue_remove(q);

        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);
        epro_rows_free(&b->rows, &pg->heap);
        ngx_free(b->inserted);
        ngx_free(b);
    }

    pg->conns = NULL;
}


ngx_int_t
ngx_http_epro_pg_enqueue(ngx_http_epro_ctx_t *ctx)
{
    ngx_uint_t              n;
    ngx_queue_t            *q;
    ngx_http_epro_pg_t     *pg;
    ngx_http_epro_batch_t  *b;

    pg = &ngx_http_epro_pg;
    n = ctx->req.nsubs;

    if (pg->conns == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_http_epro_pg_full(n) != NGX_OK) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    b = NULL;

    if (!ngx_queue_empty(&pg->pending)) {
        q = ngx_queue_last(&pg->pending);
        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

        if (b->alone
            || b->rows.nrows + n > pg->conf->batch_max_rows
            || b->bytes >= pg->conf->batch_max_bytes)
        {
            b = NULL;
        }
    }

    if (b == NULL) {
        b = ngx_http_epro_pg_batch();
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_queue_insert_tail(&pg->pending, &b->queue);
    }

    if (ngx_http_epro_pg_add(b, ctx, NULL) != NGX_OK) {
        if (b->rows.nrows == 0) {
            ngx_queue_remove(&b->queue);
            ngx_http_epro_pg_recycle(b);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * Sending may fail at once and answer the batch's requests: never
     * inside the handler of one of them, so it goes through a posted event.
     */

    if (!pg->post.posted) {
        ngx_post_event(&pg->post, &ngx_posted_events);
    }

    return NGX_OK;
}


/*
 * Copies a request's rows into the batch, all or none: encoded from its
 * submissions when it is queued (src == NULL), later (a split, a batch
 * that waited too long) copied as they are from the batch it was in.
 * Only the first needs the submissions' payloads: the body they point
 * into may be gone by then.
 */

static ngx_int_t
ngx_http_epro_pg_add(ngx_http_epro_batch_t *b, ngx_http_epro_ctx_t *ctx,
    ngx_http_epro_batch_t *src)
{
    char                 received[EPRO_TIME_LEN + 1];
    size_t               bytes, lens[EPRO_NCOLS];
    ngx_int_t            rc;
    ngx_uint_t           i, k, first;
    ngx_http_request_t  *r;
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;
    r = ctx->request;

    for (i = 0; i < EPRO_NCOLS; i++) {
        lens[i] = b->rows.col[i].len;
    }

    first = b->rows.nrows;
    rc = NGX_OK;

    if (src) {
        if (epro_rows_copy(&b->rows, &src->rows, ctx->from, ctx->to,
                           ctx->req.nsubs, &pg->heap)
            != EPRO_OK)
        {
            rc = NGX_ERROR;
        }

    } else {
        epro_unix_to_rfc3339(received, r->start_sec, r->start_msec);

        for (i = 0; i < ctx->req.nsubs; i++) {
            if (epro_rows_add(&b->rows, &ctx->req.subs[i], received,
                              &pg->heap)
                != EPRO_OK)
            {
                rc = NGX_ERROR;
                break;
            }
        }
    }

    if (rc != NGX_OK) {

        /* the array literals are prefixes: cut them back */

        for (k = 0; k < EPRO_NCOLS; k++) {
            b->rows.col[k].len = lens[k];

            if (b->rows.col[k].data) {
                b->rows.col[k].data[lens[k]] = '\0';
            }
        }

        b->rows.nrows = first;

        return NGX_ERROR;
    }

    bytes = 0;

    for (i = 0; i < EPRO_NCOLS; i++) {
        ctx->from[i] = lens[i];
        ctx->to[i] = b->rows.col[i].len;
        bytes += ctx->to[i] - ctx->from[i];
    }

    b->bytes += bytes;

    ctx->first = first;

    if (ctx->queued == 0) {
        ctx->queued = ngx_current_msec;
    }

    ctx->batch = b;
    ngx_queue_insert_tail(&b->waiters, &ctx->queue);

    ngx_http_epro_pg_queued(ctx->req.nsubs, bytes);

    return NGX_OK;
}


/*
 * PostgreSQL refused one row of a batch (a CHECK or trigger the operator
 * added): nothing of it was stored.  Each request is sent again alone,
 * ahead of the queue, so that only the request with the bad row fails.
 */

static void
ngx_http_epro_pg_split(ngx_http_epro_batch_t *b)
{
    ngx_queue_t            *q, *at;
    ngx_http_epro_pg_t     *pg;
    ngx_http_epro_ctx_t    *ctx;
    ngx_http_epro_batch_t  *nb;

    pg = &ngx_http_epro_pg;
    at = &pg->pending;

    while (!ngx_queue_empty(&b->waiters)) {
        q = ngx_queue_head(&b->waiters);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_epro_ctx_t, queue);
        ctx->batch = NULL;

        nb = ngx_http_epro_pg_batch();

        if (nb == NULL || ngx_http_epro_pg_add(nb, ctx, b) != NGX_OK) {
            if (nb) {
                ngx_http_epro_pg_recycle(nb);
            }

            ngx_http_epro_reply(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
            continue;
        }

        nb->alone = 1;
        ngx_queue_insert_after(at, &nb->queue);
        at = &nb->queue;
    }

    ngx_http_epro_pg_recycle(b);
}


/*
 * NGX_BUSY if n more rows do not fit in the queue; also asked with n = 0
 * before the body is read, so that a full queue costs no parsing.
 */

ngx_int_t
ngx_http_epro_pg_full(ngx_uint_t n)
{
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    if (pg->conns == NULL) {
        return NGX_OK;
    }

    if (pg->queued_rows + ngx_max(n, 1) <= pg->conf->queue_max_rows) {
        return NGX_OK;
    }

    ngx_http_epro_pg_refused();

    return NGX_BUSY;
}


/* one warning while requests are refused, one notice when that ends */

void
ngx_http_epro_pg_refused(void)
{
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    if (pg->refused++ == 0) {
        ngx_log_error(NGX_LOG_WARN, pg->log, 0,
                      "epro: queue full (%ui rows, %uz bytes), "
                      "refusing requests",
                      pg->queued_rows, pg->bytes + pg->reserved);
    }
}


/*
 * epro_queue_max_bytes: a body is read only when its size, with the rows
 * queued and the bodies being read, fits; else the request waits, unread,
 * in arrival order, while a connection is up.  NGX_OK: read it (the room
 * is reserved); NGX_AGAIN: it waits (ngx_http_epro_pg_release() ends that);
 * NGX_BUSY: no connection is up, refuse it.
 */

ngx_int_t
ngx_http_epro_pg_admit(ngx_http_epro_ctx_t *ctx)
{
    ngx_uint_t           i;
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    if (pg->conns == NULL) {
        return NGX_OK;
    }

    if (ngx_queue_empty(&pg->waiting) && ngx_http_epro_pg_room(ctx->size)) {
        ngx_http_epro_pg_reserve(ctx);
        return NGX_OK;
    }

    for (i = 0; i < pg->nconns; i++) {
        if (pg->conns[i].state == ngx_http_epro_pg_idle
            || pg->conns[i].state == ngx_http_epro_pg_busy)
        {
            break;
        }
    }

    if (i == pg->nconns) {
        ngx_http_epro_pg_refused();
        return NGX_BUSY;
    }

    ctx->waiting = 1;
    ctx->queued = ngx_current_msec;
    ngx_queue_insert_tail(&pg->waiting, &ctx->queue);
    pg->nwaiting++;
    ngx_http_epro_count_room(0, 1);

    return NGX_AGAIN;
}


/* the request's body is queued, refused or gone: its room is free again */

void
ngx_http_epro_pg_release(ngx_http_epro_ctx_t *ctx)
{
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    if (ctx->waiting) {
        ngx_queue_remove(&ctx->queue);
        ctx->waiting = 0;
        pg->nwaiting--;
        ngx_http_epro_count_room(0, -1);
    }

    if (ctx->reserved == 0) {
        return;
    }

    pg->reserved -= ctx->reserved;
    ngx_http_epro_count_room(-(ngx_int_t) ctx->reserved, 0);
    ctx->reserved = 0;

    ngx_http_epro_pg_wake();
}


static void
ngx_http_epro_pg_reserve(ngx_http_epro_ctx_t *ctx)
{
    ctx->reserved = ctx->size;
    ngx_http_epro_pg.reserved += ctx->size;
    ngx_http_epro_count_room(ctx->size, 0);
}


/* room was freed: the waiting requests are looked at once, posted */

static void
ngx_http_epro_pg_wake(void)
{
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    if (!ngx_queue_empty(&pg->waiting) && !pg->wake.posted) {
        ngx_post_event(&pg->wake, &ngx_posted_events);
    }
}


static ngx_uint_t
ngx_http_epro_pg_room(size_t size)
{
    size_t               used;
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    used = pg->bytes + pg->reserved;

    return used == 0 || used + size <= pg->conf->queue_max_bytes;
}


/* lets the requests that fit in, oldest first; they read their bodies */

static void
ngx_http_epro_pg_wake_handler(ngx_event_t *ev)
{
    ngx_queue_t          *q;
    ngx_event_t          *wev;
    ngx_http_epro_pg_t   *pg;
    ngx_http_epro_ctx_t  *ctx;

    pg = ev->data;

    while (!ngx_queue_empty(&pg->waiting)) {
        q = ngx_queue_head(&pg->waiting);
        ctx = ngx_queue_data(q, ngx_http_epro_ctx_t, queue);

        if (!ngx_http_epro_pg_room(ctx->size)) {
            break;
        }

        ngx_queue_remove(q);
        ctx->waiting = 0;
        pg->nwaiting--;
        ngx_http_epro_count_room(0, -1);
        ngx_http_epro_pg_reserve(ctx);

        wev = ctx->request->connection->write;

        if (wev->timer_set) {
            ngx_del_timer(wev);
        }

        ngx_post_event(wev, &ngx_posted_events);
    }
}


void
ngx_http_epro_pg_cancel(ngx_http_epro_ctx_t *ctx)
{
    ngx_queue_remove(&ctx->queue);
    ctx->batch = NULL;
}


static ngx_http_epro_batch_t *
ngx_http_epro_pg_batch(void)
{
    ngx_queue_t            *q;
    ngx_http_epro_pg_t     *pg;
    ngx_http_epro_batch_t  *b;

    pg = &ngx_http_epro_pg;

    if (!ngx_queue_empty(&pg->free)) {
        q = ngx_queue_head(&pg->free);
        ngx_queue_remove(q);
        pg->nfree--;

        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

    } else {
        b = ngx_calloc(sizeof(ngx_http_epro_batch_t), pg->log);
        if (b == NULL) {
            return NULL;
        }
    }

    ngx_queue_init(&b->waiters);
    epro_rows_reset(&b->rows);
    b->bytes = 0;
    b->created = ngx_current_msec;
    b->alone = 0;

    return b;
}


static void
ngx_http_epro_pg_dispatch(void)
{
    ngx_msec_t                wait;
    ngx_uint_t                i;
    ngx_queue_t              *q;
    ngx_http_epro_pg_t       *pg;
    ngx_http_epro_batch_t    *b;
    ngx_http_epro_pg_conn_t  *pc;

    pg = &ngx_http_epro_pg;

    while (!ngx_queue_empty(&pg->pending)) {
        q = ngx_queue_head(&pg->pending);
        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

        pc = NULL;

        for (i = 0; i < pg->nconns; i++) {
            if (pg->conns[i].state == ngx_http_epro_pg_idle) {
                pc = &pg->conns[i];
                break;
            }
        }

        if (pc == NULL) {
            break;
        }

        wait = b->created + pg->conf->batch_max_delay - ngx_current_msec;

        if (b->rows.nrows < pg->conf->batch_max_rows
            && b->bytes < pg->conf->batch_max_bytes
            && (ngx_msec_int_t) wait > 0)
        {
            /* epro_batch_max_delay: let the batch fill */
            ngx_add_timer(&pg->timer, wait);
            return;
        }

        ngx_queue_remove(q);
        ngx_http_epro_pg_queued(-(ngx_int_t) b->rows.nrows, 0);

        ngx_http_epro_pg_send(pc, b);
    }

    if (ngx_queue_empty(&pg->pending)) {
        if (pg->timer.timer_set) {
            ngx_del_timer(&pg->timer);
        }

        return;
    }

    /* the oldest batch waits for a connection up to epro_pg_timeout */

    q = ngx_queue_head(&pg->pending);
    b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

    wait = b->created + pg->conf->timeout - ngx_current_msec;

    ngx_add_timer(&pg->timer, (ngx_msec_int_t) wait > 0 ? wait : 1);
}


static void
ngx_http_epro_pg_post_handler(ngx_event_t *ev)
{
    ngx_http_epro_pg_dispatch();
}


static void
ngx_http_epro_pg_queue_handler(ngx_event_t *ev)
{
    ngx_uint_t              refused;
    ngx_queue_t            *q;
    ngx_http_epro_pg_t     *pg;
    ngx_http_epro_ctx_t    *ctx;
    ngx_http_epro_batch_t  *b, *nb;

    pg = ev->data;
    refused = 0;

    while (!ngx_queue_empty(&pg->pending)) {
        q = ngx_queue_head(&pg->pending);
        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

        if ((ngx_msec_int_t) (ngx_current_msec - b->created)
            < (ngx_msec_int_t) pg->conf->timeout)
        {
            break;
        }

        ngx_queue_remove(q);
        ngx_http_epro_pg_queued(-(ngx_int_t) b->rows.nrows, 0);

        /*
         * Each request waits epro_pg_timeout from its own arrival: those
         * that joined the batch late go on in a new one, at the head.
         */

        nb = NULL;

        while (!ngx_queue_empty(&b->waiters)) {
            q = ngx_queue_head(&b->waiters);
            ngx_queue_remove(q);

            ctx = ngx_queue_data(q, ngx_http_epro_ctx_t, queue);
            ctx->batch = NULL;

            if ((ngx_msec_int_t) (ngx_current_msec - ctx->queued)
                < (ngx_msec_int_t) pg->conf->timeout)
            {
                if (nb == NULL) {
                    nb = ngx_http_epro_pg_batch();

                    if (nb) {
                        nb->created = ctx->queued;
                        ngx_queue_insert_head(&pg->pending, &nb->queue);
                    }
                }

                if (nb && ngx_http_epro_pg_add(nb, ctx, b) == NGX_OK) {
                    continue;
                }
            }

            refused += ctx->req.nsubs;
            ngx_http_epro_reply(ctx, NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        }

        ngx_http_epro_pg_recycle(b);

        if (nb && nb->rows.nrows == 0) {
            ngx_queue_remove(&nb->queue);
            ngx_http_epro_pg_recycle(nb);
        }

        if (nb) {
            break;
        }
    }

    if (refused) {
        ngx_log_error(NGX_LOG_ERR, pg->log, 0,
                      "epro: no database connection for %M ms, "
                      "%ui queued row(s) refused", pg->conf->timeout,
                      refused);
    }

    ngx_http_epro_pg_dispatch();
}


static void
ngx_http_epro_pg_connect(ngx_http_epro_pg_conn_t *pc)
{
    ngx_http_epro_pg_t  *pg;

    static const char *const  keys[] = {
        "fallback_application_name", "dbname", "client_encoding", NULL
    };

    const char *values[] = {
        "nginx-epro", NULL, "UTF8", NULL
    };

    pg = &ngx_http_epro_pg;

    values[1] = (const char *) pg->conf->conninfo.data;

    pc->log.action = "connecting to PostgreSQL";
    pc->failed = 0;

    pc->conn = PQconnectStartParams(keys, values, 1);

    if (pc->conn == NULL) {
        ngx_http_epro_pg_fail(pc, "out of memory");
        return;
    }

    if (PQstatus(pc->conn) == CONNECTION_BAD) {
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }

    pc->c = ngx_get_connection(PQsocket(pc->conn), &pc->log);
    if (pc->c == NULL) {
        ngx_http_epro_pg_fail(pc, "no free nginx connection");
        return;
    }

    pc->c->data = pc;
    pc->c->log = &pc->log;
    pc->c->read->log = &pc->log;
    pc->c->write->log = &pc->log;
    pc->c->read->handler = ngx_http_epro_pg_handler;
    pc->c->write->handler = ngx_http_epro_pg_handler;

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_connecting);

    pc->timer.cancelable = 1;
    ngx_add_timer(&pc->timer, pg->conf->timeout);

    /* as libpq documents: wait until the socket is writable, then poll */

    if (ngx_http_epro_pg_watch(pc, NGX_WRITE_EVENT) != NGX_OK) {
        ngx_http_epro_pg_fail(pc, "cannot watch the socket");
    }
}


/*
 * While connecting, libpq may close its socket and open another (several
 * hosts, SSL retries), possibly with the same number.  So the socket is
 * taken out of the event set before each PQconnectPoll(), while it is
 * still open, and the current one is put back after.
 */

static void
ngx_http_epro_pg_poll(ngx_http_epro_pg_conn_t *pc)
{
    ngx_http_epro_pg_unwatch(pc);

    switch (PQconnectPoll(pc->conn)) {

    case PGRES_POLLING_OK:
        ngx_http_epro_pg_connected(pc);
        return;

    case PGRES_POLLING_READING:
        pc->c->fd = PQsocket(pc->conn);

        if (ngx_http_epro_pg_watch(pc, NGX_READ_EVENT) != NGX_OK) {
            ngx_http_epro_pg_fail(pc, "cannot watch the socket");
        }

        return;

    case PGRES_POLLING_WRITING:
        pc->c->fd = PQsocket(pc->conn);

        if (ngx_http_epro_pg_watch(pc, NGX_WRITE_EVENT) != NGX_OK) {
            ngx_http_epro_pg_fail(pc, "cannot watch the socket");
        }

        return;

    default:
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }
}


static void
ngx_http_epro_pg_connected(ngx_http_epro_pg_conn_t *pc)
{
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    pc->c->fd = PQsocket(pc->conn);

    if (PQsetnonblocking(pc->conn, 1) != 0) {
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }

    PQsetNoticeReceiver(pc->conn, ngx_http_epro_pg_notice, pc);
    PQsetErrorVerbosity(pc->conn, PQERRORS_TERSE);

    if (ngx_http_epro_pg_watch(pc, NGX_READ_EVENT) != NGX_OK) {
        ngx_http_epro_pg_fail(pc, "cannot watch the socket");
        return;
    }

    pc->log.action = "preparing the INSERT";
    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_preparing);

    if (!PQsendQuery(pc->conn, (const char *) pg->conf->sql.data)) {
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }

    (void) ngx_http_epro_pg_flush(pc);
}


static void
ngx_http_epro_pg_handler(ngx_event_t *ev)
{
    PGresult                 *res;
    ngx_connection_t         *c;
    ngx_http_epro_pg_conn_t  *pc;

    c = ev->data;
    pc = c->data;

    if (pc->state == ngx_http_epro_pg_connecting) {
        ngx_http_epro_pg_poll(pc);
        return;
    }

    if (ev->write) {
        (void) ngx_http_epro_pg_flush(pc);
        return;
    }

    if (!PQconsumeInput(pc->conn)) {
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return;
    }

    /* libpq may need to read before it can send the rest */

    if (c->write->active && ngx_http_epro_pg_flush(pc) != NGX_OK) {
        return;
    }

    while (!PQisBusy(pc->conn)) {
        res = PQgetResult(pc->conn);

        if (res == NULL) {
            ngx_http_epro_pg_done(pc);
            return;
        }

        ngx_http_epro_pg_result(pc, res);
    }
}


static ngx_int_t
ngx_http_epro_pg_flush(ngx_http_epro_pg_conn_t *pc)
{
    switch (PQflush(pc->conn)) {

    case 0:
        if (pc->c->write->active) {
            if (ngx_del_event(pc->c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
                ngx_http_epro_pg_fail(pc, "cannot watch the socket");
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case 1:
        if (!pc->c->write->active
            && ngx_http_epro_pg_watch(pc, NGX_WRITE_EVENT) != NGX_OK)
        {
            ngx_http_epro_pg_fail(pc, "cannot watch the socket");
            return NGX_ERROR;
        }

        return NGX_AGAIN;

    default:
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return NGX_ERROR;
    }
}


static void
ngx_http_epro_pg_result(ngx_http_epro_pg_conn_t *pc, PGresult *res)
{
    char            *field;
    ExecStatusType   status;

    status = PQresultStatus(res);

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (pc->state == ngx_http_epro_pg_busy && pc->result == NULL) {
            pc->result = res;
            return;
        }

        PQclear(res);
        return;
    }

    pc->failed = 1;

    field = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    ngx_cpystrn((u_char *) pc->sqlstate,
                (u_char *) (field ? field : "?????"), sizeof(pc->sqlstate));

    ngx_http_epro_count_db_error(pc->sqlstate);

    if (pc->state == ngx_http_epro_pg_preparing) {
        /* our own statement: the message names only the schema */
        field = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: cannot prepare the INSERT: "
                      "%s (SQLSTATE %s)", pc->index,
                      field ? field : "unknown error", pc->sqlstate);

    } else {
        /* the message may quote row values: patient data stays out */
        field = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: batch of %uz row(s) failed, "
                      "SQLSTATE %s%s%s", pc->index,
                      pc->batch ? pc->batch->rows.nrows : 0, pc->sqlstate,
                      field ? ", constraint " : "", field ? field : "");
    }

    PQclear(res);
}


/*
 * PQgetResult() returned NULL: the server sent ReadyForQuery.  Only now is
 * the implicit transaction committed: in the extended protocol the
 * INSERT's rows and CommandComplete arrive before the commit at Sync, and
 * an error at commit would come after them.
 */

static void
ngx_http_epro_pg_done(ngx_http_epro_pg_conn_t *pc)
{
    int                     i, n, row;
    PGresult               *res;
    ngx_uint_t              level;
    ngx_http_epro_pg_t     *pg;
    ngx_http_epro_batch_t  *b;

    pg = &ngx_http_epro_pg;

    switch (pc->state) {

    case ngx_http_epro_pg_preparing:
        if (pc->failed) {
            ngx_http_epro_pg_fail(pc, NULL);
            return;
        }

        if (pc->timer.timer_set) {
            ngx_del_timer(&pc->timer);
        }

        if (!pc->was_up || pc->reported) {
            level = pc->reported ? NGX_LOG_NOTICE : NGX_LOG_INFO;

            ngx_log_error(level, &pc->log, 0,
                          "epro: connection %ui: ready (server %s:%s)",
                          pc->index, PQhost(pc->conn), PQport(pc->conn));
        }

        pc->was_up = 1;
        pc->reported = 0;
        pc->backoff = 0;
        pc->log.action = NULL;
        ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);

        ngx_http_epro_pg_dispatch();
        return;

    case ngx_http_epro_pg_busy:
        break;

    default:
        /* a stray result while idle */
        return;
    }

    b = pc->batch;
    res = pc->result;

    if (PQstatus(pc->conn) != CONNECTION_OK
        || PQtransactionStatus(pc->conn) != PQTRANS_IDLE)
    {
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return;
    }

    if (pc->failed || res == NULL) {
        /* rolled back: nothing of the batch is stored */

        if (res) {
            PQclear(res);
            pc->result = NULL;
        }

        pc->batch = NULL;
        pc->failed = 0;
        ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);
        pc->log.action = NULL;

        if (pc->timer.timer_set) {
            ngx_del_timer(&pc->timer);
        }

        if (!ngx_http_epro_pg_row_error(pc->sqlstate)) {
            ngx_http_epro_pg_finish(b, NGX_HTTP_SERVICE_UNAVAILABLE);

        } else if (b->alone
                   || ngx_queue_head(&b->waiters)
                      == ngx_queue_last(&b->waiters))
        {
            ngx_memcpy(b->sqlstate, pc->sqlstate, sizeof(b->sqlstate));
            ngx_http_epro_pg_finish(b, NGX_HTTP_EPRO_UNPROCESSABLE);

        } else {
            ngx_http_epro_pg_split(b);
        }

        ngx_http_epro_pg_dispatch();
        return;
    }

    if (b->inserted_size < b->rows.nrows) {
        ngx_free(b->inserted);

        b->inserted = ngx_alloc(b->rows.nrows, pg->log);
        if (b->inserted == NULL) {
            b->inserted_size = 0;
            PQclear(res);
            pc->result = NULL;
            ngx_http_epro_pg_fail(pc, "out of memory");
            return;
        }

        b->inserted_size = b->rows.nrows;
    }

    ngx_memset(b->inserted, 1, b->rows.nrows);

    n = (int) b->rows.nrows;

    for (i = 0; i < PQntuples(res); i++) {
        row = ngx_atoi((u_char *) PQgetvalue(res, i, 0),
                       PQgetlength(res, i, 0));

        if (row >= 1 && (size_t) row <= b->rows.nrows && b->inserted[row - 1])
        {
            b->inserted[row - 1] = 0;
            n--;
        }
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, &pc->log, 0,
                   "epro: connection %ui: committed %d of %uz row(s) "
                   "in %M ms", pc->index, n, b->rows.nrows,
                   ngx_current_msec - pc->sent);

    PQclear(res);
    pc->result = NULL;
    pc->batch = NULL;

    ngx_http_epro_count_batch(b->rows.nrows, n, ngx_current_msec - b->sent);

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);
    pc->log.action = NULL;

    ngx_http_epro_pg_finish(b, NGX_HTTP_CREATED);

    ngx_http_epro_pg_dispatch();
}


static void
ngx_http_epro_pg_send(ngx_http_epro_pg_conn_t *pc, ngx_http_epro_batch_t *b)
{
    ngx_uint_t           i;
    const char          *values[EPRO_NCOLS];
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    pc->batch = b;
    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_busy);
    pc->failed = 0;
    pc->sent = ngx_current_msec;
    b->sent = ngx_current_msec;
    pc->log.action = "committing a batch";

    /* a batch in flight keeps an exiting worker until it is answered */
    pc->timer.cancelable = 0;
    ngx_add_timer(&pc->timer, pg->conf->timeout);

    if (epro_rows_finish(&b->rows, &pg->heap) != EPRO_OK) {
        ngx_http_epro_pg_fail(pc, "out of memory");
        return;
    }

    for (i = 0; i < EPRO_NCOLS; i++) {
        values[i] = b->rows.col[i].data;
    }

    if (!PQsendQueryPrepared(pc->conn, NGX_HTTP_EPRO_STMT, EPRO_NCOLS,
                             values, NULL, NULL, 0))
    {
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return;
    }

    (void) ngx_http_epro_pg_flush(pc);
}


static void
ngx_http_epro_pg_timer_handler(ngx_event_t *ev)
{
    ngx_http_epro_pg_conn_t  *pc;

    pc = ev->data;

    switch (pc->state) {

    case ngx_http_epro_pg_down:
        if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
            ngx_http_epro_pg_connect(pc);
        }

        return;

    case ngx_http_epro_pg_busy:
        ngx_http_epro_pg_fail(pc, "the commit was not confirmed in time");
        return;

    default:
        ngx_http_epro_pg_fail(pc, "timed out");
        return;
    }
}


/*
 * The connection is dropped; a batch in flight may or may not have been
 * committed, so its requests get 504 and may retry with the same ids.
 */

static void
ngx_http_epro_pg_fail(ngx_http_epro_pg_conn_t *pc, const char *what)
{
    u_char                 *p, *last, text[512];
    ngx_msec_t              delay;
    const char             *line;
    ngx_http_epro_batch_t  *b;

    if (!pc->reported) {
        /*
         * One line: libpq writes a line for each address it tried, and
         * indented hints under them, which are left out.
         */

        p = text;
        last = text + sizeof(text) - 1;

        for (line = what; line && *line; line += (*line == '\n')) {
            if (*line == ' ' || *line == '\t') {
                line += strcspn(line, "\n");
                continue;
            }

            if (p != text) {
                p = ngx_slprintf(p, last, "; ");
            }

            p = ngx_slprintf(p, last, "%*s", strcspn(line, "\n"), line);
            line += strcspn(line, "\n");
        }

        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: %*s%sreconnecting",
                      pc->index, p - text, text, (p != text) ? ", " : "");

        pc->reported = 1;
    }

    b = pc->batch;
    pc->batch = NULL;

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
    }

    ngx_http_epro_pg_close(pc);

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_down);
    pc->log.action = NULL;

    delay = pc->backoff;
    pc->backoff = ngx_min(ngx_max(pc->backoff * 2, NGX_HTTP_EPRO_BACKOFF_MIN),
                          NGX_HTTP_EPRO_BACKOFF_MAX);

    pc->timer.cancelable = 1;
    ngx_add_timer(&pc->timer, delay ? delay : 1);

    if (b) {
        ngx_http_epro_pg_finish(b, NGX_HTTP_GATEWAY_TIME_OUT);
    }
}


static void
ngx_http_epro_pg_close(ngx_http_epro_pg_conn_t *pc)
{
    if (pc->c) {
        ngx_http_epro_pg_unwatch(pc);

        if (pc->c->read->posted) {
            ngx_delete_posted_event(pc->c->read);
        }

        if (pc->c->write->posted) {
            ngx_delete_posted_event(pc->c->write);
        }

        pc->c->fd = (ngx_socket_t) -1;
        ngx_free_connection(pc->c);
        pc->c = NULL;
    }

    if (pc->conn) {
        PQfinish(pc->conn);
        pc->conn = NULL;
    }
}


/* level-triggered: libpq may leave bytes in the socket after a read */

static ngx_int_t
ngx_http_epro_pg_watch(ngx_http_epro_pg_conn_t *pc, ngx_int_t event)
{
    ngx_event_t  *ev;

    ev = (event == NGX_READ_EVENT) ? pc->c->read : pc->c->write;

    if (ev->active) {
        return NGX_OK;
    }

    return ngx_add_event(ev, event, NGX_LEVEL_EVENT);
}


static void
ngx_http_epro_pg_unwatch(ngx_http_epro_pg_conn_t *pc)
{
    ngx_uint_t  flags;

    /* libpq closes its socket itself on EOF: the kernel forgot it then */

    flags = (pc->conn && PQsocket(pc->conn) == pc->c->fd)
            ? 0 : NGX_CLOSE_EVENT;

    if (pc->c->read->active) {
        (void) ngx_del_event(pc->c->read, NGX_READ_EVENT, flags);
    }

    if (pc->c->write->active) {
        (void) ngx_del_event(pc->c->write, NGX_WRITE_EVENT, flags);
    }
}


static void
ngx_http_epro_pg_finish(ngx_http_epro_batch_t *b, ngx_int_t status)
{
    ngx_queue_t          *q;
    ngx_http_epro_ctx_t  *ctx;

    while (!ngx_queue_empty(&b->waiters)) {
        q = ngx_queue_head(&b->waiters);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_epro_ctx_t, queue);
        ctx->batch = NULL;

        ngx_memcpy(ctx->sqlstate, b->sqlstate, sizeof(ctx->sqlstate));
        ctx->batch_rows = b->rows.nrows;
        ctx->commit_ms = ngx_current_msec - b->sent;

        ngx_http_epro_reply(ctx, status,
                            status == NGX_HTTP_CREATED
                            ? b->inserted + ctx->first : NULL);
    }

    ngx_http_epro_pg_recycle(b);
}


/* keep a few batches for reuse; large buffers go back to the heap */

static void
ngx_http_epro_pg_recycle(ngx_http_epro_batch_t *b)
{
    ngx_uint_t           i;
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    /* epro_queue_max_bytes counts rows until their batch is done */

    ngx_http_epro_pg_queued(0, -(ngx_int_t) b->bytes);
    b->bytes = 0;

    for (i = 0; i < EPRO_NCOLS; i++) {
        if (b->rows.col[i].cap
            > ngx_max(2 * pg->conf->batch_max_bytes, NGX_HTTP_EPRO_KEEP_BYTES))
        {
            epro_rows_free(&b->rows, &pg->heap);
            break;
        }
    }

    if (pg->nfree < pg->nconns + 2) {
        ngx_queue_insert_head(&pg->free, &b->queue);
        pg->nfree++;
        return;
    }

    epro_rows_free(&b->rows, &pg->heap);
    ngx_free(b->inserted);
    ngx_free(b);
}


static void
ngx_http_epro_pg_state(ngx_http_epro_pg_conn_t *pc,
    ngx_http_epro_pg_state_e state)
{
    ngx_http_epro_count_state(pc->state, state);
    pc->state = state;
}


static void
ngx_http_epro_pg_queued(ngx_int_t rows, ngx_int_t bytes)
{
    ngx_http_epro_pg_t  *pg;

    pg = &ngx_http_epro_pg;

    pg->queued_rows += rows;
    pg->bytes += bytes;
    ngx_http_epro_count_queue(rows);
    ngx_http_epro_count_room(bytes, 0);

    if (bytes < 0) {
        ngx_http_epro_pg_wake();
    }

    if (pg->refused
        && pg->queued_rows <= pg->conf->queue_max_rows / 2
        && pg->bytes + pg->reserved <= pg->conf->queue_max_bytes / 2)
    {
        ngx_log_error(NGX_LOG_NOTICE, pg->log, 0,
                      "epro: queue accepts again, %ui request(s) were "
                      "refused", pg->refused);
        pg->refused = 0;
    }
}


/*
 * Errors that one row can cause, as opposed to the database or the
 * statement: data exceptions, integrity constraints, a trigger's RAISE,
 * WITH CHECK OPTION.
 */

static ngx_uint_t
ngx_http_epro_pg_row_error(const char *sqlstate)
{
    return ngx_strncmp(sqlstate, "22", 2) == 0
           || ngx_strncmp(sqlstate, "23", 2) == 0
           || ngx_strncmp(sqlstate, "P0", 2) == 0
           || ngx_strncmp(sqlstate, "44", 2) == 0;
}


/*
 * Once a statement ran, libpq's error text also holds the server's error
 * for it, which may quote row values; so only connection-level text is
 * logged before the connection is ready, and a fixed word after.
 */

static const char *
ngx_http_epro_pg_error(ngx_http_epro_pg_conn_t *pc)
{
    if (pc->state == ngx_http_epro_pg_connecting) {
        return PQerrorMessage(pc->conn);
    }

    if (PQstatus(pc->conn) == CONNECTION_BAD) {
        return "connection lost";
    }

    return "connection error";
}


static void
ngx_http_epro_pg_notice(void *arg, const PGresult *res)
{
    ngx_http_epro_pg_conn_t  *pc = arg;

    char  *severity, *sqlstate;

    /* the text may quote row values; the code says enough */

    severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (severity && (ngx_strcmp(severity, "FATAL") == 0
                     || ngx_strcmp(severity, "PANIC") == 0))
    {
        /* the server ends the connection: logged once it is lost */
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, &pc->log, 0,
                  "epro: connection %ui: PostgreSQL %s, SQLSTATE %s",
                  pc->index, severity ? severity : "NOTICE",
                  sqlstate ? sqlstate : "?????");
}


static void *
ngx_http_epro_pg_alloc(void *ctx, size_t size)
{
    return ngx_alloc(size, ctx);
}


static void
ngx_http_epro_pg_free(void *ctx, void *p)
{
    ngx_free(p);
}
