
/*
 * ngx_http_epro_module: the module and its main configuration, shared by
 * every glue file.  Plain nginx core types only: the database side reads
 * the configuration without seeing a request.
 */


#ifndef _NGX_HTTP_EPRO_H_INCLUDED_
#define _NGX_HTTP_EPRO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* nginx 1.22 has no name for it */
#define NGX_HTTP_EPRO_UNPROCESSABLE  422


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


extern ngx_module_t  ngx_http_epro_module;


#endif /* _NGX_HTTP_EPRO_H_INCLUDED_ */
