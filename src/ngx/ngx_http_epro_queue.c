
/*
 * A database's queue in the worker, one object per database that
 * locations use: admission (room for bodies in epro_queue_max_bytes,
 * requests waiting for it unread), batches (rows copied in at enqueue,
 * closed at epro_batch_max_rows or epro_batch_max_bytes, held up to
 * epro_batch_max_delay), dispatch to the connection pool, the split of a
 * batch a row made PostgreSQL refuse, and the expiry of batches no
 * connection took within epro_pg_timeout.  A batch holds rows of one
 * table.  Reads by id (lookups) wait in a list of their own, never behind
 * the batches, and go out in groups, one SELECT for all the ids of a
 * table that wait when a connection becomes idle (up to
 * NGX_HTTP_EPRO_LOOKUP_MAX); dispatch alternates between lookups and
 * batches (see ngx_http_epro_pg.c).  Requests are reached only through
 * their waiters' and lookups' callbacks; the pool only through its API
 * and the callbacks set here.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_queue.h"
#include "ngx_http_epro_pg.h"


#define NGX_HTTP_EPRO_KEEP_BYTES   (64 * 1024)
#define NGX_HTTP_EPRO_LOOKUP_MAX   100


struct ngx_http_epro_batch_s {
    ngx_queue_t                  queue;     /* pending or free */
    ngx_queue_t                  waiters;
    ngx_http_epro_queue_t       *owner;
    ngx_http_epro_table_t       *table;     /* of all its rows */
    epro_rows_t                  rows;
    size_t                       bytes;     /* of its rows */
    ngx_msec_t                   created;
    ngx_msec_t                   sent;
    unsigned                     alone:1;   /* one request, after a split */
};


/* the lookups of one SELECT, and its parameter: "{id,id,...}" */
struct ngx_http_epro_group_s {
    ngx_queue_t                  queue;     /* free, or in flight */
    ngx_queue_t                  lookups;
    ngx_http_epro_queue_t       *owner;
    u_char                       ids[2 + NGX_HTTP_EPRO_LOOKUP_MAX
                                         * (EPRO_UUID_LEN + 1)];
};


/* one per database and worker */
struct ngx_http_epro_queue_s {
    ngx_http_epro_db_t          *conf;
    ngx_http_epro_pg_t          *pg;          /* NULL: not running */
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
    ngx_queue_t                  lookups;     /* pending */
    ngx_queue_t                  groups;      /* in flight */
    ngx_queue_t                  free_groups;
    unsigned                     lookup_turn:1;   /* a batch went last */
};


static void ngx_http_epro_queue_queued(ngx_http_epro_queue_t *eq,
    ngx_int_t rows, ngx_int_t bytes);
static ngx_uint_t ngx_http_epro_queue_room(ngx_http_epro_queue_t *eq,
    size_t size);
static void ngx_http_epro_queue_reserve(ngx_http_epro_queue_t *eq,
    ngx_http_epro_waiter_t *w);
static void ngx_http_epro_queue_wake(ngx_http_epro_queue_t *eq);
static void ngx_http_epro_queue_wake_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_epro_queue_copy(ngx_http_epro_queue_t *eq,
    ngx_http_epro_batch_t *b, ngx_http_epro_waiter_t *w,
    ngx_http_epro_batch_t *src, const epro_submission_t *subs,
    const char *received, const epro_str_t *extra);
static void ngx_http_epro_queue_split(ngx_http_epro_queue_t *eq,
    ngx_http_epro_batch_t *b);
static void ngx_http_epro_queue_dispatch(ngx_http_epro_queue_t *eq);
static void ngx_http_epro_queue_ready(void *ctx);
static void ngx_http_epro_queue_done(void *data,
    ngx_http_epro_pg_outcome_e outcome, const char *sqlstate,
    const u_char *inserted);
static void ngx_http_epro_queue_send_lookups(ngx_http_epro_queue_t *eq);
static void ngx_http_epro_queue_found(void *data, ngx_int_t rc,
    ngx_http_epro_pg_row_t *rows, ngx_uint_t nrows);
static ngx_int_t ngx_http_epro_queue_copy_row(ngx_http_epro_lookup_t *l,
    ngx_http_epro_pg_row_t *row);
static void ngx_http_epro_queue_post_handler(ngx_event_t *ev);
static void ngx_http_epro_queue_expire_handler(ngx_event_t *ev);
static void ngx_http_epro_queue_finish(ngx_http_epro_queue_t *eq,
    ngx_http_epro_batch_t *b, ngx_int_t status, const char *sqlstate,
    const u_char *inserted);
static ngx_http_epro_batch_t *ngx_http_epro_queue_batch(
    ngx_http_epro_queue_t *eq, ngx_http_epro_table_t *table);
static void ngx_http_epro_queue_recycle(ngx_http_epro_queue_t *eq,
    ngx_http_epro_batch_t *b);
static void *ngx_http_epro_queue_alloc(void *ctx, size_t size);
static void ngx_http_epro_queue_free(void *ctx, void *p);


/* the database's queue and pool in this worker: db->queue, db->pg */

ngx_int_t
ngx_http_epro_queue_init_process(ngx_cycle_t *cycle, ngx_http_epro_db_t *db)
{
    ngx_log_t              *log;
    ngx_http_epro_queue_t  *eq;

    eq = ngx_pcalloc(cycle->pool, sizeof(ngx_http_epro_queue_t));
    if (eq == NULL) {
        return NGX_ERROR;
    }

    log = cycle->log;

    if (db->named) {
        /* the pool's log names the database: the queue's lines share it */
        log = ngx_palloc(cycle->pool, sizeof(ngx_log_t));
        if (log == NULL) {
            return NGX_ERROR;
        }

        *log = *cycle->log;
        log->handler = ngx_http_epro_pg_log_handler;
        log->data = db;
    }

    eq->conf = db;
    eq->log = log;
    eq->heap.alloc = ngx_http_epro_queue_alloc;
    eq->heap.free = ngx_http_epro_queue_free;
    eq->heap.ctx = cycle->log;

    ngx_queue_init(&eq->pending);
    ngx_queue_init(&eq->free);
    ngx_queue_init(&eq->waiting);
    ngx_queue_init(&eq->lookups);
    ngx_queue_init(&eq->groups);
    ngx_queue_init(&eq->free_groups);

    eq->timer.handler = ngx_http_epro_queue_expire_handler;
    eq->timer.log = cycle->log;
    eq->timer.data = eq;

    eq->post.handler = ngx_http_epro_queue_post_handler;
    eq->post.log = cycle->log;
    eq->post.data = eq;

    eq->wake.handler = ngx_http_epro_queue_wake_handler;
    eq->wake.log = cycle->log;
    eq->wake.data = eq;

    eq->pg = ngx_http_epro_pg_init_process(cycle, db,
                                           ngx_http_epro_queue_done,
                                           ngx_http_epro_queue_found,
                                           ngx_http_epro_queue_ready, eq);
    if (eq->pg == NULL) {
        return NGX_ERROR;
    }

    db->queue = eq;

    return NGX_OK;
}


void
ngx_http_epro_queue_exit_process(ngx_http_epro_db_t *db)
{
    ngx_queue_t            *q;
    ngx_http_epro_batch_t  *b;
    ngx_http_epro_queue_t  *eq;

    eq = db->queue;

    if (eq == NULL) {
        return;
    }

    ngx_http_epro_pg_exit_process(eq->pg);

    ngx_http_epro_metrics_queue(db->index, -(ngx_int_t) eq->queued_rows);
    ngx_http_epro_metrics_room(db->index,
                               -(ngx_int_t) (eq->bytes + eq->reserved),
                               -(ngx_int_t) eq->nwaiting);

    if (eq->timer.timer_set) {
        ngx_del_timer(&eq->timer);
    }

    if (eq->post.posted) {
        ngx_delete_posted_event(&eq->post);
    }

    if (eq->wake.posted) {
        ngx_delete_posted_event(&eq->wake);
    }

    while (!ngx_queue_empty(&eq->free)) {
        q = ngx_queue_head(&eq->free);
        ngx_queue_remove(q);

        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);
        epro_rows_free(&b->rows, &eq->heap);
        ngx_free(b);
    }

    /* a group in flight is dropped unanswered, as a batch is */

    ngx_queue_add(&eq->free_groups, &eq->groups);

    while (!ngx_queue_empty(&eq->free_groups)) {
        q = ngx_queue_head(&eq->free_groups);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_epro_group_t, queue));
    }

    db->queue = NULL;
}


/*
 * Whether n more rows would not fit in the queue; also asked with n = 0
 * before the body is read, so that a full queue costs no parsing.
 */

ngx_uint_t
ngx_http_epro_queue_full(ngx_http_epro_db_t *db, ngx_uint_t n)
{
    ngx_http_epro_queue_t  *eq;

    eq = db->queue;

    if (eq == NULL) {
        return 0;
    }

    return eq->queued_rows + ngx_max(n, 1) > eq->conf->queue_max_rows;
}


/* one warning while requests are refused, one notice when that ends */

void
ngx_http_epro_queue_refused(ngx_http_epro_db_t *db)
{
    ngx_http_epro_queue_t  *eq;

    eq = db->queue;

    if (eq != NULL && eq->refused++ == 0) {
        ngx_log_error(NGX_LOG_WARN, eq->log, 0,
                      "epro: queue full (%ui rows, %uz bytes), "
                      "refusing requests",
                      eq->queued_rows, eq->bytes + eq->reserved);
    }
}


/*
 * epro_queue_max_bytes: a body is read only when its size, with the rows
 * queued and the bodies being read, fits; else the request waits, unread,
 * in arrival order, while a connection is up.  NGX_OK: read it (the room
 * is reserved); NGX_AGAIN: it waits (w->wake() or
 * ngx_http_epro_queue_release() ends that); NGX_BUSY: no connection is
 * up, refuse it.
 */

ngx_int_t
ngx_http_epro_queue_admit(ngx_http_epro_waiter_t *w)
{
    ngx_http_epro_queue_t  *eq;

    eq = w->db->queue;

    if (eq == NULL) {
        return NGX_OK;
    }

    if (ngx_queue_empty(&eq->waiting)
        && ngx_http_epro_queue_room(eq, w->size))
    {
        ngx_http_epro_queue_reserve(eq, w);
        return NGX_OK;
    }

    if (!ngx_http_epro_pg_up(eq->pg)) {
        ngx_http_epro_queue_refused(w->db);
        return NGX_BUSY;
    }

    w->waiting = 1;
    w->queued = ngx_current_msec;
    ngx_queue_insert_tail(&eq->waiting, &w->queue);
    eq->nwaiting++;
    ngx_http_epro_metrics_room(eq->conf->index, 0, 1);

    return NGX_AGAIN;
}


/* the request's body is queued, refused or gone: its room is free again */

void
ngx_http_epro_queue_release(ngx_http_epro_waiter_t *w)
{
    ngx_http_epro_queue_t  *eq;

    if (!w->waiting && w->reserved == 0) {
        return;
    }

    eq = w->db->queue;

    if (w->waiting) {
        ngx_queue_remove(&w->queue);
        w->waiting = 0;
        eq->nwaiting--;
        ngx_http_epro_metrics_room(eq->conf->index, 0, -1);

        /* the next one may fit where this one did not */
        ngx_http_epro_queue_wake(eq);
    }

    if (w->reserved == 0) {
        return;
    }

    eq->reserved -= w->reserved;
    ngx_http_epro_metrics_room(eq->conf->index, -(ngx_int_t) w->reserved, 0);
    w->reserved = 0;

    ngx_http_epro_queue_wake(eq);
}


/*
 * Queues a request's n rows for the table; "received" is its arrival,
 * RFC 3339.  NGX_OK: w->done() will be called once; else an HTTP status
 * to answer.
 */

ngx_int_t
ngx_http_epro_queue_add(ngx_http_epro_waiter_t *w,
    ngx_http_epro_table_t *table, const epro_submission_t *subs,
    ngx_uint_t n, const char *received, const epro_str_t *extra)
{
    ngx_queue_t            *q;
    ngx_http_epro_batch_t  *b;
    ngx_http_epro_queue_t  *eq;

    eq = w->db->queue;

    if (eq == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_http_epro_queue_full(w->db, n)) {
        ngx_http_epro_queue_refused(w->db);
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    w->nrows = n;
    b = NULL;

    /*
     * A batch is one INSERT into one table: the rows join the newest
     * batch of their table, if it is still open; batches of other tables
     * after it keep their places.
     */

    for (q = ngx_queue_last(&eq->pending);
         q != ngx_queue_sentinel(&eq->pending);
         q = ngx_queue_prev(q))
    {
        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

        if (b->table == table) {
            break;
        }

        b = NULL;
    }

    if (b
        && (b->alone
            || b->rows.nrows + n > eq->conf->batch_max_rows
            || b->bytes >= eq->conf->batch_max_bytes))
    {
        b = NULL;
    }

    if (b == NULL) {
        b = ngx_http_epro_queue_batch(eq, table);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_queue_insert_tail(&eq->pending, &b->queue);
    }

    if (ngx_http_epro_queue_copy(eq, b, w, NULL, subs, received, extra)
        != NGX_OK)
    {
        if (b->rows.nrows == 0) {
            ngx_queue_remove(&b->queue);
            ngx_http_epro_queue_recycle(eq, b);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * Sending may fail at once and answer the batch's requests: never
     * inside the handler of one of them, so it goes through a posted event.
     */

    if (!eq->post.posted) {
        ngx_post_event(&eq->post, &ngx_posted_events);
    }

    return NGX_OK;
}


/*
 * Queues a read by id of l->table; NGX_OK: l->done() will be called
 * once (or ngx_http_epro_queue_lookup_cancel() ends that); else an HTTP
 * status to answer.  A full batch queue does not refuse it: it waits
 * apart, as rows do while no connection is up (a restart is short).  The
 * owner bounds the wait (epro_pg_timeout), the pool the SELECT's.
 */

ngx_int_t
ngx_http_epro_queue_lookup(ngx_http_epro_lookup_t *l)
{
    ngx_http_epro_queue_t  *eq;

    eq = l->db->queue;

    if (eq == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    l->group = NULL;
    l->pending = 1;
    ngx_queue_insert_tail(&eq->lookups, &l->queue);

    /* the reads of this round of events go out together */

    if (!eq->post.posted) {
        ngx_post_event(&eq->post, &ngx_posted_events);
    }

    return NGX_OK;
}


/* the request is gone, or stopped waiting: its lookup is forgotten */

void
ngx_http_epro_queue_lookup_cancel(ngx_http_epro_lookup_t *l)
{
    if (l->pending || l->group) {
        ngx_queue_remove(&l->queue);
    }

    l->pending = 0;
    l->group = NULL;
}


/*
 * The request is gone: its rows stay in the batch and still commit,
 * unless PostgreSQL refuses the batch; then only the rows of the requests
 * still waiting are sent again (nobody was told the others were stored).
 */

void
ngx_http_epro_queue_cancel(ngx_http_epro_waiter_t *w)
{
    ngx_queue_remove(&w->queue);
    w->batch = NULL;
}


/*
 * Copies a request's rows into the batch, all or none: encoded from its
 * submissions when it is queued (src == NULL), later (a split, a batch
 * that waited too long) copied as they are from the batch it was in.
 * Only the first needs the submissions' payloads: the body they point
 * into may be gone by then.
 */

static ngx_int_t
ngx_http_epro_queue_copy(ngx_http_epro_queue_t *eq, ngx_http_epro_batch_t *b,
    ngx_http_epro_waiter_t *w, ngx_http_epro_batch_t *src,
    const epro_submission_t *subs, const char *received,
    const epro_str_t *extra)
{
    size_t                  bytes, lens[EPRO_MAX_COLS];
    ngx_int_t               rc;
    ngx_uint_t              i, k, first, ncols;

    ncols = EPRO_NCOLS + b->rows.nextra;

    for (i = 0; i < ncols; i++) {
        lens[i] = b->rows.col[i].len;
    }

    first = b->rows.nrows;
    rc = NGX_OK;

    if (src) {
        if (epro_rows_copy(&b->rows, &src->rows, w->from, w->to, w->nrows,
                           &eq->heap)
            != EPRO_OK)
        {
            rc = NGX_ERROR;
        }

    } else {
        for (i = 0; i < w->nrows; i++) {
            if (epro_rows_add(&b->rows, &subs[i], received, &eq->heap)
                != EPRO_OK
                || (b->rows.nextra
                    && epro_rows_add_extra(&b->rows, extra, &eq->heap)
                       != EPRO_OK))
            {
                rc = NGX_ERROR;
                break;
            }
        }
    }

    if (rc != NGX_OK) {

        /* each column's elements are a prefix: cut them back */

        for (k = 0; k < ncols; k++) {
            b->rows.col[k].len = lens[k];

            if (b->rows.col[k].data) {
                b->rows.col[k].data[lens[k]] = '\0';
            }
        }

        b->rows.nrows = first;

        return NGX_ERROR;
    }

    bytes = 0;

    for (i = 0; i < ncols; i++) {
        w->from[i] = lens[i];
        w->to[i] = b->rows.col[i].len;
        bytes += w->to[i] - w->from[i];
    }

    b->bytes += bytes;

    w->first = first;

    if (w->queued == 0) {
        w->queued = ngx_current_msec;
    }

    w->batch = b;
    ngx_queue_insert_tail(&b->waiters, &w->queue);

    ngx_http_epro_queue_queued(eq, w->nrows, bytes);

    return NGX_OK;
}


/*
 * PostgreSQL refused one row of a batch (a CHECK or trigger the operator
 * added): nothing of it was stored.  Each request is sent again alone,
 * ahead of the queue, so that only the request with the bad row fails.
 */

static void
ngx_http_epro_queue_split(ngx_http_epro_queue_t *eq, ngx_http_epro_batch_t *b)
{
    ngx_queue_t             *q, *at;
    ngx_http_epro_batch_t   *nb;
    ngx_http_epro_waiter_t  *w;

    at = &eq->pending;

    while (!ngx_queue_empty(&b->waiters)) {
        q = ngx_queue_head(&b->waiters);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_epro_waiter_t, queue);
        w->batch = NULL;

        nb = ngx_http_epro_queue_batch(eq, b->table);

        if (nb == NULL
            || ngx_http_epro_queue_copy(eq, nb, w, b, NULL, NULL, NULL)
               != NGX_OK)
        {
            if (nb) {
                ngx_http_epro_queue_recycle(eq, nb);
            }

            w->done(w, NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
            continue;
        }

        nb->alone = 1;
        ngx_queue_insert_after(at, &nb->queue);
        at = &nb->queue;
    }

    ngx_http_epro_queue_recycle(eq, b);
}


static void
ngx_http_epro_queue_reserve(ngx_http_epro_queue_t *eq,
    ngx_http_epro_waiter_t *w)
{
    w->reserved = w->size;
    eq->reserved += w->size;
    ngx_http_epro_metrics_room(eq->conf->index, w->size, 0);
}


/* room was freed: the waiting requests are looked at once, posted */

static void
ngx_http_epro_queue_wake(ngx_http_epro_queue_t *eq)
{
    if (!ngx_queue_empty(&eq->waiting) && !eq->wake.posted) {
        ngx_post_event(&eq->wake, &ngx_posted_events);
    }
}


static ngx_uint_t
ngx_http_epro_queue_room(ngx_http_epro_queue_t *eq, size_t size)
{
    size_t  used;

    used = eq->bytes + eq->reserved;

    return used == 0 || used + size <= eq->conf->queue_max_bytes;
}


/* lets the requests that fit in, oldest first; they read their bodies */

static void
ngx_http_epro_queue_wake_handler(ngx_event_t *ev)
{
    ngx_queue_t             *q;
    ngx_http_epro_queue_t   *eq;
    ngx_http_epro_waiter_t  *w;

    eq = ev->data;

    while (!ngx_queue_empty(&eq->waiting)) {
        q = ngx_queue_head(&eq->waiting);
        w = ngx_queue_data(q, ngx_http_epro_waiter_t, queue);

        if (!ngx_http_epro_queue_room(eq, w->size)) {
            break;
        }

        ngx_queue_remove(q);
        w->waiting = 0;
        eq->nwaiting--;
        ngx_http_epro_metrics_room(eq->conf->index, 0, -1);
        ngx_http_epro_queue_reserve(eq, w);

        w->wake(w);
    }
}


static void
ngx_http_epro_queue_queued(ngx_http_epro_queue_t *eq, ngx_int_t rows,
    ngx_int_t bytes)
{
    eq->queued_rows += rows;
    eq->bytes += bytes;
    ngx_http_epro_metrics_queue(eq->conf->index, rows);
    ngx_http_epro_metrics_room(eq->conf->index, bytes, 0);

    if (bytes < 0) {
        ngx_http_epro_queue_wake(eq);
    }

    if (eq->refused
        && eq->queued_rows <= eq->conf->queue_max_rows / 2
        && eq->bytes + eq->reserved <= eq->conf->queue_max_bytes / 2)
    {
        ngx_log_error(NGX_LOG_NOTICE, eq->log, 0,
                      "epro: queue accepts again, %ui request(s) were "
                      "refused", eq->refused);
        eq->refused = 0;
    }
}


static void
ngx_http_epro_queue_dispatch(ngx_http_epro_queue_t *eq)
{
    ngx_msec_t              wait, oldest;
    ngx_queue_t            *q;
    ngx_http_epro_batch_t  *b;

    wait = 0;

    while (ngx_http_epro_pg_has_idle(eq->pg)) {
        b = NULL;

        if (!ngx_queue_empty(&eq->pending)) {
            q = ngx_queue_head(&eq->pending);
            b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

            wait = b->created + eq->conf->batch_max_delay - ngx_current_msec;

            if (b->rows.nrows < eq->conf->batch_max_rows
                && b->bytes < eq->conf->batch_max_bytes
                && (ngx_msec_int_t) wait > 0)
            {
                /* epro_batch_max_delay: let the batch fill */
                b = NULL;

            } else {
                wait = 0;
            }
        }

        /* lookups and ready batches take turns (see ngx_http_epro_pg.c) */

        if (!ngx_queue_empty(&eq->lookups) && (b == NULL || eq->lookup_turn))
        {
            eq->lookup_turn = 0;
            ngx_http_epro_queue_send_lookups(eq);
            continue;
        }

        if (b == NULL) {
            break;
        }

        eq->lookup_turn = 1;

        ngx_queue_remove(&b->queue);
        ngx_http_epro_queue_queued(eq, -(ngx_int_t) b->rows.nrows, 0);

        b->sent = ngx_current_msec;
        ngx_http_epro_pg_send(eq->pg, &b->rows, b->table, b);
    }

    if (ngx_queue_empty(&eq->pending)) {
        if (eq->timer.timer_set) {
            ngx_del_timer(&eq->timer);
        }

        return;
    }

    if ((ngx_msec_int_t) wait > 0) {
        /* the head batch fills while a connection is idle */
        ngx_add_timer(&eq->timer, wait);
        return;
    }

    /*
     * A batch waits for a connection up to epro_pg_timeout: the timer is
     * the oldest's, which need not be the first (a split's batches go to
     * the head).  The list is a few batches long.
     */

    q = ngx_queue_head(&eq->pending);
    b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);
    oldest = b->created;

    for (q = ngx_queue_next(q);
         q != ngx_queue_sentinel(&eq->pending);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

        if ((ngx_msec_int_t) (b->created - oldest) < 0) {
            oldest = b->created;
        }
    }

    wait = oldest + eq->conf->timeout - ngx_current_msec;

    ngx_add_timer(&eq->timer, (ngx_msec_int_t) wait > 0 ? wait : 1);
}


/* the pool's callbacks: a connection is idle, a batch is done */

static void
ngx_http_epro_queue_ready(void *ctx)
{
    ngx_http_epro_queue_dispatch(ctx);
}


static void
ngx_http_epro_queue_done(void *data, ngx_http_epro_pg_outcome_e outcome,
    const char *sqlstate, const u_char *inserted)
{
    ngx_http_epro_batch_t  *b = data;

    ngx_http_epro_queue_t   *eq;
    ngx_http_epro_waiter_t  *w;

    eq = b->owner;

    switch (outcome) {

    case NGX_HTTP_EPRO_PG_COMMITTED:
        ngx_http_epro_queue_finish(eq, b, NGX_HTTP_CREATED, NULL, inserted);
        return;

    case NGX_HTTP_EPRO_PG_REFUSED:

        /*
         * The bad row is a request's own only if all the batch's rows are
         * its (a request gone while queued left its rows behind); else
         * each request still waiting is sent again alone.
         */

        w = ngx_queue_empty(&b->waiters)
            ? NULL
            : ngx_queue_data(ngx_queue_head(&b->waiters),
                             ngx_http_epro_waiter_t, queue);

        if (b->alone || w == NULL || w->nrows == b->rows.nrows) {
            ngx_http_epro_queue_finish(eq, b, NGX_HTTP_EPRO_UNPROCESSABLE,
                                       sqlstate, NULL);
            return;
        }

        ngx_http_epro_queue_split(eq, b);
        return;

    case NGX_HTTP_EPRO_PG_FAILED:
        ngx_http_epro_queue_finish(eq, b, NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                                   NULL);
        return;

    default: /* NGX_HTTP_EPRO_PG_UNKNOWN */
        ngx_http_epro_queue_finish(eq, b, NGX_HTTP_GATEWAY_TIME_OUT, NULL,
                                   NULL);
        return;
    }
}


/*
 * One SELECT for the pending lookups of the first one's table, up to
 * NGX_HTTP_EPRO_LOOKUP_MAX; the others wait for the next connection.
 */

static void
ngx_http_epro_queue_send_lookups(ngx_http_epro_queue_t *eq)
{
    u_char                  *p;
    ngx_uint_t               n;
    ngx_queue_t             *q, *next;
    ngx_http_epro_group_t   *g;
    ngx_http_epro_lookup_t  *l;
    ngx_http_epro_table_t   *table;

    if (!ngx_queue_empty(&eq->free_groups)) {
        q = ngx_queue_head(&eq->free_groups);
        ngx_queue_remove(q);
        g = ngx_queue_data(q, ngx_http_epro_group_t, queue);

    } else {
        g = ngx_alloc(sizeof(ngx_http_epro_group_t), eq->log);

        if (g == NULL) {
            q = ngx_queue_head(&eq->lookups);
            l = ngx_queue_data(q, ngx_http_epro_lookup_t, queue);
            ngx_http_epro_queue_lookup_cancel(l);
            l->done(l, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        g->owner = eq;
    }

    ngx_queue_init(&g->lookups);
    ngx_queue_insert_tail(&eq->groups, &g->queue);

    q = ngx_queue_head(&eq->lookups);
    l = ngx_queue_data(q, ngx_http_epro_lookup_t, queue);
    table = l->table;

    p = g->ids;
    *p++ = '{';
    n = 0;

    for ( /* void */ ;
         q != ngx_queue_sentinel(&eq->lookups) && n < NGX_HTTP_EPRO_LOOKUP_MAX;
         q = next)
    {
        next = ngx_queue_next(q);
        l = ngx_queue_data(q, ngx_http_epro_lookup_t, queue);

        if (l->table != table) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&g->lookups, q);
        l->pending = 0;
        l->group = g;

        if (n++) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, l->id, EPRO_UUID_LEN);
    }

    *p++ = '}';
    *p = '\0';

    ngx_http_epro_pg_lookup(eq->pg, table, (char *) g->ids, n, g);
}


/*
 * The pool's answer to a group: each lookup whose id came back gets its
 * row, the others 404, or all 503 when nothing is known.  A lookup leaves
 * the group before its done(), which ends its request.
 */

static void
ngx_http_epro_queue_found(void *data, ngx_int_t rc,
    ngx_http_epro_pg_row_t *rows, ngx_uint_t nrows)
{
    ngx_http_epro_group_t *g = data;

    ngx_uint_t               i;
    ngx_queue_t             *q;
    ngx_http_epro_lookup_t  *l;

    for (i = 0; i < nrows; i++) {
        if (rows[i].id.len != EPRO_UUID_LEN) {
            continue;
        }

        q = ngx_queue_head(&g->lookups);

        while (q != ngx_queue_sentinel(&g->lookups)) {
            l = ngx_queue_data(q, ngx_http_epro_lookup_t, queue);

            if (ngx_memcmp(l->id, rows[i].id.data, EPRO_UUID_LEN) != 0) {
                q = ngx_queue_next(q);
                continue;
            }

            ngx_queue_remove(q);
            l->group = NULL;
            l->done(l, ngx_http_epro_queue_copy_row(l, &rows[i]));

            /* done() may have ended other requests: start again */
            q = ngx_queue_head(&g->lookups);
        }
    }

    while (!ngx_queue_empty(&g->lookups)) {
        q = ngx_queue_head(&g->lookups);
        ngx_queue_remove(q);

        l = ngx_queue_data(q, ngx_http_epro_lookup_t, queue);
        l->group = NULL;
        l->done(l, (rc == NGX_OK) ? NGX_HTTP_NOT_FOUND
                                  : NGX_HTTP_SERVICE_UNAVAILABLE);
    }

    ngx_queue_remove(&g->queue);
    ngx_queue_insert_head(&g->owner->free_groups, &g->queue);
}


/* into the request's pool, before libpq's result is cleared */

static ngx_int_t
ngx_http_epro_queue_copy_row(ngx_http_epro_lookup_t *l,
    ngx_http_epro_pg_row_t *row)
{
    off_t                        ms;
    u_char                      *p;
    ngx_http_epro_lookup_row_t  *out;

    out = &l->row;

    ms = ngx_atoof(row->received_ms.data, row->received_ms.len);
    if (ms == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(l->pool, row->payload.len + row->subject.len
                             + row->study.len + row->site.len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out->received_ms = ms;

    out->payload.data = p;
    out->payload.len = row->payload.len;
    p = ngx_cpymem(p, row->payload.data, row->payload.len);

    out->subject.data = p;
    out->subject.len = row->subject.len;
    p = ngx_cpymem(p, row->subject.data, row->subject.len);

    out->study.data = p;
    out->study.len = row->study.len;
    p = ngx_cpymem(p, row->study.data, row->study.len);

    out->site.data = p;
    out->site.len = row->site.len;
    p = ngx_cpymem(p, row->site.data, row->site.len);

    *p = '\0';

    return NGX_HTTP_OK;
}


static void
ngx_http_epro_queue_post_handler(ngx_event_t *ev)
{
    ngx_http_epro_queue_dispatch(ev->data);
}


static void
ngx_http_epro_queue_expire_handler(ngx_event_t *ev)
{
    ngx_uint_t               refused;
    ngx_queue_t             *q, *prev;
    ngx_http_epro_batch_t   *b, *nb;
    ngx_http_epro_queue_t   *eq;
    ngx_http_epro_waiter_t  *w;

    eq = ev->data;
    refused = 0;

    /* every batch that waited epro_pg_timeout, wherever it is */

    q = ngx_queue_head(&eq->pending);

    while (q != ngx_queue_sentinel(&eq->pending)) {
        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

        if ((ngx_msec_int_t) (ngx_current_msec - b->created)
            < (ngx_msec_int_t) eq->conf->timeout)
        {
            q = ngx_queue_next(q);
            continue;
        }

        prev = ngx_queue_prev(q);
        ngx_queue_remove(q);
        ngx_http_epro_queue_queued(eq, -(ngx_int_t) b->rows.nrows, 0);

        /*
         * Each request waits epro_pg_timeout from its own arrival: those
         * that joined the batch late go on in a new one, in its place.
         */

        nb = NULL;

        while (!ngx_queue_empty(&b->waiters)) {
            q = ngx_queue_head(&b->waiters);
            ngx_queue_remove(q);

            w = ngx_queue_data(q, ngx_http_epro_waiter_t, queue);
            w->batch = NULL;

            if ((ngx_msec_int_t) (ngx_current_msec - w->queued)
                < (ngx_msec_int_t) eq->conf->timeout)
            {
                if (nb == NULL) {
                    nb = ngx_http_epro_queue_batch(eq, b->table);

                    if (nb) {
                        nb->created = w->queued;
                        ngx_queue_insert_after(prev, &nb->queue);
                    }
                }

                if (nb
                    && ngx_http_epro_queue_copy(eq, nb, w, b, NULL, NULL,
                                                NULL)
                       == NGX_OK)
                {
                    continue;
                }
            }

            refused += w->nrows;
            w->done(w, NGX_HTTP_SERVICE_UNAVAILABLE, NULL);
        }

        ngx_http_epro_queue_recycle(eq, b);

        if (nb && nb->rows.nrows == 0) {
            ngx_queue_remove(&nb->queue);
            ngx_http_epro_queue_recycle(eq, nb);
            nb = NULL;
        }

        q = ngx_queue_next(nb ? &nb->queue : prev);
    }

    if (refused) {
        ngx_log_error(NGX_LOG_ERR, eq->log, 0,
                      "epro: no database connection for %M ms, "
                      "%ui queued row(s) refused", eq->conf->timeout,
                      refused);
    }

    ngx_http_epro_queue_dispatch(eq);
}


static void
ngx_http_epro_queue_finish(ngx_http_epro_queue_t *eq,
    ngx_http_epro_batch_t *b, ngx_int_t status, const char *sqlstate,
    const u_char *inserted)
{
    ngx_queue_t             *q;
    ngx_http_epro_waiter_t  *w;

    while (!ngx_queue_empty(&b->waiters)) {
        q = ngx_queue_head(&b->waiters);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_epro_waiter_t, queue);
        w->batch = NULL;

        if (sqlstate) {
            ngx_memcpy(w->sqlstate, sqlstate, sizeof(w->sqlstate));
        }

        w->batch_rows = b->rows.nrows;
        w->commit_ms = ngx_current_msec - b->sent;

        w->done(w, status, inserted ? inserted + w->first : NULL);
    }

    ngx_http_epro_queue_recycle(eq, b);
}


static ngx_http_epro_batch_t *
ngx_http_epro_queue_batch(ngx_http_epro_queue_t *eq,
    ngx_http_epro_table_t *table)
{
    ngx_queue_t            *q;
    ngx_http_epro_batch_t  *b;

    if (!ngx_queue_empty(&eq->free)) {
        q = ngx_queue_head(&eq->free);
        ngx_queue_remove(q);
        eq->nfree--;

        b = ngx_queue_data(q, ngx_http_epro_batch_t, queue);

    } else {
        b = ngx_calloc(sizeof(ngx_http_epro_batch_t), eq->log);
        if (b == NULL) {
            return NULL;
        }
    }

    ngx_queue_init(&b->waiters);
    b->owner = eq;
    b->table = table;
    epro_rows_reset(&b->rows);
    b->rows.nextra = table->ncolumns;
    b->bytes = 0;
    b->created = ngx_current_msec;
    b->alone = 0;

    return b;
}


/* keep a few batches for reuse; large buffers go back to the heap */

static void
ngx_http_epro_queue_recycle(ngx_http_epro_queue_t *eq,
    ngx_http_epro_batch_t *b)
{
    ngx_uint_t  i;

    /* epro_queue_max_bytes counts rows until their batch is done */

    ngx_http_epro_queue_queued(eq, 0, -(ngx_int_t) b->bytes);
    b->bytes = 0;

    for (i = 0; i < EPRO_MAX_COLS; i++) {
        if (b->rows.col[i].cap
            > ngx_max(2 * eq->conf->batch_max_bytes, NGX_HTTP_EPRO_KEEP_BYTES))
        {
            epro_rows_free(&b->rows, &eq->heap);
            break;
        }
    }

    if (eq->nfree < eq->conf->pool_size + 2) {
        ngx_queue_insert_head(&eq->free, &b->queue);
        eq->nfree++;
        return;
    }

    epro_rows_free(&b->rows, &eq->heap);
    ngx_free(b);
}


static void *
ngx_http_epro_queue_alloc(void *ctx, size_t size)
{
    return ngx_alloc(size, ctx);
}


static void
ngx_http_epro_queue_free(void *ctx, void *p)
{
    ngx_free(p);
}
