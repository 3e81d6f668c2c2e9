
/*
 * ngx_http_epro_module: the FHIR side of an epro_submit fhir location,
 * its media types and the QuestionnaireResponse check and mapping on the
 * request path (its answers are ngx_http_epro_reply.c's).
 */


#ifndef _NGX_HTTP_EPRO_FHIR_H_INCLUDED_
#define _NGX_HTTP_EPRO_FHIR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_handler.h"


/* a place in the request's headers, zeroed before the first */
typedef struct {
    ngx_list_part_t  *part;
    ngx_uint_t        i;
} ngx_http_epro_fhir_walk_t;


void ngx_http_epro_fhir_route(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
ngx_int_t ngx_http_epro_fhir_read(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
ngx_int_t ngx_http_epro_fhir_metadata(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
ngx_int_t ngx_http_epro_fhir_unknown(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
ngx_int_t ngx_http_epro_fhir_meta_init(ngx_conf_t *cf,
    ngx_http_epro_loc_conf_t *elcf);
ngx_int_t ngx_http_epro_fhir_type(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_epro_fhir_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_http_epro_fhir_walk_t *w);
ngx_int_t ngx_http_epro_fhir_parse(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_str_t *body, epro_alloc_t *a);
ngx_int_t ngx_http_epro_fhir_keep(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, const char *received);
ngx_int_t ngx_http_epro_fhir_bind_issue(ngx_http_epro_ctx_t *ctx,
    ngx_uint_t sub, ngx_str_t *member, ngx_uint_t absent, epro_alloc_t *a);


#endif /* _NGX_HTTP_EPRO_FHIR_H_INCLUDED_ */
