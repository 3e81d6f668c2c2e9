
/*
 * ngx_http_epro_module: types shared by the glue files.
 */


#ifndef _NGX_HTTP_EPRO_H_INCLUDED_
#define _NGX_HTTP_EPRO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "epro_core.h"
#include "ngx_http_epro_queue.h"


#define NGX_HTTP_EPRO_RETRY_AFTER    "1"
#define NGX_HTTP_EPRO_UNPROCESSABLE  422
#define NGX_HTTP_EPRO_OFF            ((ngx_msec_t) -2)


/* request outcomes, for $epro_result and epro_requests_total */
enum {
    NGX_HTTP_EPRO_NONE = 0,
    NGX_HTTP_EPRO_CREATED,
    NGX_HTTP_EPRO_BAD_JSON,
    NGX_HTTP_EPRO_CONTRACT,
    NGX_HTTP_EPRO_INSTRUMENT,
    NGX_HTTP_EPRO_FORBIDDEN,
    NGX_HTTP_EPRO_REJECTED,
    NGX_HTTP_EPRO_TOO_LARGE,
    NGX_HTTP_EPRO_UNSUPPORTED,
    NGX_HTTP_EPRO_METHOD,
    NGX_HTTP_EPRO_UNAVAILABLE,
    NGX_HTTP_EPRO_TIMEOUT,
    NGX_HTTP_EPRO_CLIENT_GONE,
    NGX_HTTP_EPRO_REFUSED,
    NGX_HTTP_EPRO_ERROR,
    NGX_HTTP_EPRO_NRESULTS
};

/* connection states, in the order of ngx_http_epro_pg_state_e (checked
 * there at compile time) */
#define NGX_HTTP_EPRO_NSTATES  5


typedef struct {
    ngx_str_t                  conninfo;
    ngx_str_t                  table;
    ngx_str_t                  sql;
    ngx_uint_t                 pool_size;
    ngx_uint_t                 batch_max_rows;
    ngx_uint_t                 queue_max_rows;
    size_t                     batch_max_bytes;
    size_t                     queue_max_bytes;
    ngx_msec_t                 batch_max_delay;
    ngx_msec_t                 timeout;
    ngx_uint_t                 statement;  /* NGX_HTTP_EPRO_PG_PREPARED
                                              or _UNNAMED */
    ngx_flag_t                 enabled;
    ngx_flag_t                 metrics;
} ngx_http_epro_main_conf_t;


/* epro_bind: a member of every submission must equal a value */
typedef struct {
    ngx_str_t                  member;     /* "subjectId" */
    size_t                     offset;     /* of its epro_str_t in
                                              epro_submission_t */
    ngx_http_complex_value_t   value;
} ngx_http_epro_bind_t;


typedef struct {
    ngx_uint_t                 max_submissions;
    ngx_flag_t                 submit;
    epro_instruments_t        *instruments;
    ngx_uint_t                 policy;
    ngx_uint_t                 effective_policy;
    ngx_msec_t                 clock_skew;     /* or NGX_HTTP_EPRO_OFF */
    ngx_msec_t                 max_age;        /* or NGX_HTTP_EPRO_OFF */
    ngx_array_t               *binds;  /* of ngx_http_epro_bind_t, or NULL */
} ngx_http_epro_loc_conf_t;


/* one request; lives in the request pool */
typedef struct {
    ngx_http_request_t        *request;
    ngx_http_epro_waiter_t     waiter;     /* its part in the queue */
    epro_request_t             req;        /* req.subs: only until queued */
    u_char                    *ids;        /* nsubs x EPRO_UUID_LEN */
    ngx_chain_t               *problem;    /* replaces an nginx error page */
    ngx_str_t                 *bound;      /* epro_bind values, as binds */
    ngx_uint_t                 result;
    ngx_uint_t                 accepted;
    unsigned                   counted:1;
    unsigned                   answered:1;
    unsigned                   replaced:1;
} ngx_http_epro_ctx_t;


extern ngx_module_t     ngx_http_epro_module;
extern const ngx_str_t  ngx_http_epro_results[];


ngx_int_t ngx_http_epro_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_epro_filter_init(ngx_conf_t *cf);

ngx_int_t ngx_http_epro_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_epro_add_zone(ngx_conf_t *cf);
void ngx_http_epro_arena_free(void);

char *ngx_http_epro_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_epro_count_result(ngx_uint_t result);
void ngx_http_epro_count_batch(ngx_uint_t rows, ngx_uint_t inserted,
    ngx_msec_t ms);
void ngx_http_epro_claim_slot(void);
void ngx_http_epro_release_slot(void);
void ngx_http_epro_count_queue(ngx_int_t delta);
void ngx_http_epro_count_room(ngx_int_t bytes, ngx_int_t waiting);
void ngx_http_epro_count_state(ngx_int_t from, ngx_int_t to);
void ngx_http_epro_count_db_error(const char *sqlstate);


#endif /* _NGX_HTTP_EPRO_H_INCLUDED_ */
