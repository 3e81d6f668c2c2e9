
/*
 * ngx_http_epro_module: the answers of an epro_submit location, 201 with
 * the ids or application/problem+json, and the filters that turn nginx's
 * own error pages there into problem+json.
 */


#ifndef _NGX_HTTP_EPRO_REPLY_H_INCLUDED_
#define _NGX_HTTP_EPRO_REPLY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_handler.h"


#define NGX_HTTP_EPRO_RETRY_AFTER    "1"


ngx_int_t ngx_http_epro_reply_header(ngx_http_request_t *r, const char *key,
    const char *value);
ngx_int_t ngx_http_epro_reply_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail, ngx_http_epro_ctx_t *ctx);
ngx_int_t ngx_http_epro_reply_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, epro_buf_t *b);
ngx_int_t ngx_http_epro_reply_outcome(ngx_http_epro_ctx_t *ctx,
    ngx_int_t status, const u_char *inserted);
ngx_int_t ngx_http_epro_reply_read(ngx_http_epro_ctx_t *ctx, time_t updated,
    ngx_uint_t not_modified);

ngx_int_t ngx_http_epro_reply_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_EPRO_REPLY_H_INCLUDED_ */
