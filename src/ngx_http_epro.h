
/*
 * ngx_http_epro_module: types shared by the glue files.
 */


#ifndef _NGX_HTTP_EPRO_H_INCLUDED_
#define _NGX_HTTP_EPRO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "epro_core.h"


#define NGX_HTTP_EPRO_RETRY_AFTER    "1"
#define NGX_HTTP_EPRO_UNPROCESSABLE  422
#define NGX_HTTP_EPRO_OFF            ((ngx_msec_t) -2)


typedef struct {
    ngx_str_t                  conninfo;
    ngx_str_t                  table;
    ngx_str_t                  sql;
    ngx_uint_t                 pool_size;
    ngx_uint_t                 batch_max_rows;
    ngx_uint_t                 queue_max_rows;
    ngx_msec_t                 batch_max_delay;
    ngx_msec_t                 timeout;
    ngx_flag_t                 enabled;
} ngx_http_epro_main_conf_t;


typedef struct {
    ngx_uint_t                 max_submissions;
    ngx_flag_t                 submit;
    epro_instruments_t        *instruments;
    ngx_uint_t                 policy;
    ngx_msec_t                 clock_skew;     /* or NGX_HTTP_EPRO_OFF */
    ngx_msec_t                 max_age;        /* or NGX_HTTP_EPRO_OFF */
} ngx_http_epro_loc_conf_t;


typedef struct ngx_http_epro_batch_s  ngx_http_epro_batch_t;


/* one waiting request; lives in the request pool */
typedef struct {
    ngx_http_request_t        *request;
    ngx_queue_t                queue;      /* in batch->waiters */
    ngx_http_epro_batch_t     *batch;      /* NULL once answered or gone */
    ngx_uint_t                 first;      /* its rows in the batch */
    epro_request_t             req;
    ngx_chain_t               *problem;    /* replaces an nginx error page */
    char                       sqlstate[6];
    unsigned                   answered:1;
    unsigned                   replaced:1;
} ngx_http_epro_ctx_t;


extern ngx_module_t  ngx_http_epro_module;


ngx_int_t ngx_http_epro_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_epro_filter_init(ngx_conf_t *cf);

/* called by the database side with the outcome of the request's rows:
 * NGX_HTTP_CREATED with inserted[i] set for each row really inserted,
 * NGX_HTTP_EPRO_UNPROCESSABLE (refused by PostgreSQL, ctx->sqlstate),
 * NGX_HTTP_SERVICE_UNAVAILABLE or NGX_HTTP_GATEWAY_TIME_OUT */
void ngx_http_epro_reply(ngx_http_epro_ctx_t *ctx, ngx_int_t status,
    const u_char *inserted);

ngx_int_t ngx_http_epro_pg_init_process(ngx_cycle_t *cycle,
    ngx_http_epro_main_conf_t *emcf);
void ngx_http_epro_pg_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_epro_pg_enqueue(ngx_http_epro_ctx_t *ctx);
void ngx_http_epro_pg_cancel(ngx_http_epro_ctx_t *ctx);
ngx_int_t ngx_http_epro_pg_sql(ngx_conf_t *cf,
    ngx_http_epro_main_conf_t *emcf);
ngx_int_t ngx_http_epro_pg_check_conninfo(ngx_conf_t *cf,
    ngx_http_epro_main_conf_t *emcf);


#endif /* _NGX_HTTP_EPRO_H_INCLUDED_ */
