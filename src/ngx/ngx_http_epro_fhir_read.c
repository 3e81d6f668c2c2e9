
/*
 * GET [base]/QuestionnaireResponse/<id>: the stored resource, read back
 * on the worker's PostgreSQL connections.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_reply.h"


/* TODO(issue 12): the lookup; until then a read is not implemented */

ngx_int_t
ngx_http_epro_fhir_read(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return NGX_HTTP_NOT_IMPLEMENTED;
}
