
/*
 * ngx_http_epro_module: a request's body as one string, and the worker's
 * arena the core parses it in.
 */


#ifndef _NGX_HTTP_EPRO_BODY_H_INCLUDED_
#define _NGX_HTTP_EPRO_BODY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "epro_core.h"


void ngx_http_epro_body_allocator(epro_alloc_t *a);
void ngx_http_epro_body_reset(void);
void ngx_http_epro_body_free(void);

ngx_int_t ngx_http_epro_body_gather(ngx_http_request_t *r, ngx_str_t *body,
    epro_alloc_t *a);
void ngx_http_epro_body_drop(ngx_http_request_t *r);
ngx_uint_t ngx_http_epro_body_in_arena(const u_char *p);


#endif /* _NGX_HTTP_EPRO_BODY_H_INCLUDED_ */
