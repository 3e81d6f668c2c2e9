
/*
 * ngx_http_epro_module: the worker's pool of PostgreSQL connections.  It
 * sends a batch's rows to an idle connection and reports the outcome
 * through the callback its owner set, as nginx's upstream reports through
 * u->finalize_request; it knows nothing of requests.
 */


#ifndef _NGX_HTTP_EPRO_PG_H_INCLUDED_
#define _NGX_HTTP_EPRO_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "epro_core.h"
#include "ngx_http_epro.h"


/* epro_pg_statement: a prepared INSERT per connection, or an unnamed one
 * per batch (behind a transaction pooler) */
#define NGX_HTTP_EPRO_PG_PREPARED  0
#define NGX_HTTP_EPRO_PG_UNNAMED   1


/* what became of a batch */
typedef enum {
    NGX_HTTP_EPRO_PG_COMMITTED = 0,  /* inserted[] says which rows */
    NGX_HTTP_EPRO_PG_REFUSED,        /* rolled back because of a row */
    NGX_HTTP_EPRO_PG_FAILED,         /* rolled back, any other error */
    NGX_HTTP_EPRO_PG_UNKNOWN         /* connection lost in flight */
} ngx_http_epro_pg_outcome_e;


/* data is what was given to ngx_http_epro_pg_send() */
typedef void (*ngx_http_epro_pg_done_pt)(void *data,
    ngx_http_epro_pg_outcome_e outcome, const char *sqlstate,
    const u_char *inserted);

/* a connection became idle: ngx_http_epro_pg_send() may be called */
typedef void (*ngx_http_epro_pg_ready_pt)(void *ctx);


/* a row a lookup found; the strings point into libpq's result, valid
 * only during the found() callback */
typedef struct {
    ngx_str_t                  id;
    ngx_str_t                  payload;
    ngx_str_t                  received_ms;    /* Unix time, ms */
    ngx_str_t                  subject;
    ngx_str_t                  study;
    ngx_str_t                  site;           /* empty for NULL */
} ngx_http_epro_pg_row_t;


/* data is what was given to ngx_http_epro_pg_lookup(); NGX_OK with the
 * rows found (any order), or NGX_ERROR (nothing is known) */
typedef void (*ngx_http_epro_pg_found_pt)(void *data, ngx_int_t rc,
    ngx_http_epro_pg_row_t *rows, ngx_uint_t nrows);


/* the connection states' names, NGX_HTTP_EPRO_NSTATES of them, in the
 * order in which the metrics count connections */
extern const char  *ngx_http_epro_pg_state_names[];


ngx_int_t ngx_http_epro_pg_sql(ngx_conf_t *cf, ngx_http_epro_db_t *db);
ngx_int_t ngx_http_epro_pg_check_conninfo(ngx_conf_t *cf,
    ngx_str_t *conninfo);

ngx_http_epro_pg_t *ngx_http_epro_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_epro_db_t *db, ngx_http_epro_pg_done_pt done,
    ngx_http_epro_pg_found_pt found, ngx_http_epro_pg_ready_pt ready,
    void *ctx);
void ngx_http_epro_pg_exit_process(ngx_http_epro_pg_t *pg);

u_char *ngx_http_epro_pg_log_handler(ngx_log_t *log, u_char *buf,
    size_t len);

ngx_uint_t ngx_http_epro_pg_up(ngx_http_epro_pg_t *pg);
ngx_uint_t ngx_http_epro_pg_has_idle(ngx_http_epro_pg_t *pg);
void ngx_http_epro_pg_send(ngx_http_epro_pg_t *pg, epro_rows_t *rows,
    ngx_http_epro_table_t *table, void *data);
void ngx_http_epro_pg_lookup(ngx_http_epro_pg_t *pg,
    ngx_http_epro_table_t *table, const char *ids, ngx_uint_t nids,
    void *data);


#endif /* _NGX_HTTP_EPRO_PG_H_INCLUDED_ */
