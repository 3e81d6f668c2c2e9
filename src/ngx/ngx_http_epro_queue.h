
/*
 * ngx_http_epro_module: the worker's queue of batches, and the room a
 * request needs in it.  A request takes part through a waiter embedded
 * in its context; the queue answers it through the callbacks the waiter
 * carries, never by touching the request.
 */


#ifndef _NGX_HTTP_EPRO_QUEUE_H_INCLUDED_
#define _NGX_HTTP_EPRO_QUEUE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "epro_core.h"
#include "ngx_http_epro.h"


typedef struct ngx_http_epro_batch_s   ngx_http_epro_batch_t;
typedef struct ngx_http_epro_waiter_s  ngx_http_epro_waiter_t;
typedef struct ngx_http_epro_lookup_s  ngx_http_epro_lookup_t;
typedef struct ngx_http_epro_group_s   ngx_http_epro_group_t;

/*
 * w->db is set by the owner before anything else.
 *
 * The outcome of the waiter's rows, once: NGX_HTTP_CREATED with
 * inserted[i] set for each row really inserted, NGX_HTTP_EPRO_UNPROCESSABLE
 * (refused by PostgreSQL, w->sqlstate), NGX_HTTP_SERVICE_UNAVAILABLE,
 * NGX_HTTP_GATEWAY_TIME_OUT or NGX_HTTP_INTERNAL_SERVER_ERROR.
 */
typedef void (*ngx_http_epro_waiter_done_pt)(ngx_http_epro_waiter_t *w,
    ngx_int_t status, const u_char *inserted);

/* room for the waiter's body: it may be read now (posted, not nested) */
typedef void (*ngx_http_epro_waiter_wake_pt)(ngx_http_epro_waiter_t *w);


struct ngx_http_epro_waiter_s {
    ngx_queue_t                    queue;      /* in batch->waiters, or
                                                  waiting for room */
    ngx_http_epro_db_t            *db;         /* whose queue it is in */
    ngx_http_epro_batch_t         *batch;      /* NULL once answered or
                                                  gone */
    ngx_uint_t                     nrows;
    ngx_uint_t                     first;      /* its rows in the batch */
    size_t                         from[EPRO_MAX_COLS];   /* and their
                                                             bytes */
    size_t                         to[EPRO_MAX_COLS];
    ngx_msec_t                     queued;     /* when it was first queued */
    size_t                         size;       /* the body's, as announced */
    size_t                         reserved;   /* of the queue, while read */

    ngx_http_epro_waiter_done_pt   done;
    ngx_http_epro_waiter_wake_pt   wake;
    void                          *data;

    /* set before done() */
    char                           sqlstate[6];
    ngx_uint_t                     batch_rows;
    ngx_msec_t                     commit_ms;

    unsigned                       waiting:1;  /* for room, body unread */
};


/*
 * A read by id: the outcome, once: NGX_HTTP_OK (the row, copied into
 * l->pool, is in l->row), NGX_HTTP_NOT_FOUND, NGX_HTTP_SERVICE_UNAVAILABLE
 * or NGX_HTTP_INTERNAL_SERVER_ERROR.
 */
typedef void (*ngx_http_epro_lookup_done_pt)(ngx_http_epro_lookup_t *l,
    ngx_int_t status);


/* what a read found; strings in l->pool, empty for NULL */
typedef struct {
    ngx_str_t                      payload;
    ngx_str_t                      subject;
    ngx_str_t                      study;
    ngx_str_t                      site;
    int64_t                        received_ms;   /* Unix time */
} ngx_http_epro_lookup_row_t;


struct ngx_http_epro_lookup_s {
    ngx_queue_t                    queue;      /* pending, or in its
                                                  group */
    ngx_http_epro_db_t            *db;         /* set by the owner */
    ngx_http_epro_table_t         *table;
    ngx_pool_t                    *pool;       /* the row is copied here */
    u_char                         id[EPRO_UUID_LEN];   /* lower case */

    ngx_http_epro_lookup_done_pt   done;
    void                          *data;

    ngx_http_epro_lookup_row_t     row;        /* set before done(200) */

    ngx_http_epro_group_t         *group;      /* in flight, or NULL */
    unsigned                       pending:1;  /* queued, not sent */
};


ngx_int_t ngx_http_epro_queue_init_process(ngx_cycle_t *cycle,
    ngx_http_epro_db_t *db);
void ngx_http_epro_queue_exit_process(ngx_http_epro_db_t *db);

ngx_uint_t ngx_http_epro_queue_full(ngx_http_epro_db_t *db, ngx_uint_t n);
void ngx_http_epro_queue_refused(ngx_http_epro_db_t *db);
ngx_int_t ngx_http_epro_queue_admit(ngx_http_epro_waiter_t *w);
void ngx_http_epro_queue_release(ngx_http_epro_waiter_t *w);
ngx_int_t ngx_http_epro_queue_add(ngx_http_epro_waiter_t *w,
    ngx_http_epro_table_t *table, const epro_submission_t *subs,
    ngx_uint_t n, const char *received, const epro_str_t *extra);
void ngx_http_epro_queue_cancel(ngx_http_epro_waiter_t *w);
ngx_int_t ngx_http_epro_queue_lookup(ngx_http_epro_lookup_t *l);
void ngx_http_epro_queue_lookup_cancel(ngx_http_epro_lookup_t *l);


#endif /* _NGX_HTTP_EPRO_QUEUE_H_INCLUDED_ */
