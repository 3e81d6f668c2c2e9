
/*
 * ngx_http_epro_module: the epro_status handler, the metrics in the
 * Prometheus text format.
 */


#ifndef _NGX_HTTP_EPRO_STATUS_H_INCLUDED_
#define _NGX_HTTP_EPRO_STATUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_epro_status_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_EPRO_STATUS_H_INCLUDED_ */
