
/*
 * The $epro_* variables: a request's result, its rows, the batch it was
 * committed in, its submission ids and its database, for the access log.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_handler.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_variables.h"


static ngx_int_t ngx_http_epro_variables_get(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_epro_variables_ids(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_epro_variables_database(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_epro_variables[] = {

    { ngx_string("epro_result"), NULL, ngx_http_epro_variables_get,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_rows"), NULL, ngx_http_epro_variables_get,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_duplicates"), NULL, ngx_http_epro_variables_get,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_batch_rows"), NULL, ngx_http_epro_variables_get,
      3, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_commit_ms"), NULL, ngx_http_epro_variables_get,
      4, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_entries"), NULL, ngx_http_epro_variables_get,
      5, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_refused"), NULL, ngx_http_epro_variables_get,
      6, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_ids"), NULL, ngx_http_epro_variables_ids,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_database"), NULL, ngx_http_epro_variables_database,
      0, 0, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_epro_variables_add(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_epro_variables; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_epro_variables_get(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    ngx_uint_t            n;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    /* $epro_entries and $epro_refused: FHIR Bundles only */

    if (ctx == NULL || (data != 0 && ctx->result != NGX_HTTP_EPRO_CREATED)
        || (data >= 5 && !ctx->bundle))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 0) {
        v->data = ngx_http_epro_metrics_results[ctx->result].data;
        v->len = ngx_http_epro_metrics_results[ctx->result].len;

    } else {
        /* a Bundle's entry that repeats an earlier one's identifier is
         * a duplicate too */

        n = (data == 1) ? ctx->accepted
            : (data == 2) ? ctx->req.nsubs - ctx->accepted + ctx->repeated
            : (data == 3) ? ctx->waiter.batch_rows
            : (data == 4) ? ctx->waiter.commit_ms
            : (data == 5) ? ctx->nentries
            : ctx->refused;

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%ui", n) - p;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the submission ids, comma-separated: ids are not patient data */

static ngx_int_t
ngx_http_epro_variables_ids(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char               *p;
    ngx_uint_t            i;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    if (ctx == NULL || ctx->ids == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, ctx->req.nsubs * (EPRO_UUID_LEN + 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < ctx->req.nsubs; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, ctx->ids + i * EPRO_UUID_LEN, EPRO_UUID_LEN);
    }

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* the name of the location's database: "default" or an epro_database's */

static ngx_int_t
ngx_http_epro_variables_database(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    if (!elcf->submit || elcf->db == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = elcf->db->name.data;
    v->len = elcf->db->name.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
