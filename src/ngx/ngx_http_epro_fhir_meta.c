
/*
 * GET [base]/metadata: the CapabilityStatement of a FHIR location, made
 * from its configuration.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_reply.h"


/* TODO(issue 12): the CapabilityStatement */

ngx_int_t
ngx_http_epro_fhir_metadata(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return NGX_HTTP_NOT_IMPLEMENTED;
}
