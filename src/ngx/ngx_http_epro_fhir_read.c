
/*
 * GET [base]/QuestionnaireResponse/<id>: the stored resource, read back
 * on the worker's PostgreSQL connections.  The id is looked up through
 * the database's queue (grouped with the other reads of the moment, one
 * SELECT on the primary key); the answer is built from the stored
 * payload with epro_fhir_resource_head(), as a create's answer is, so
 * both are byte for byte the same.  A read that the URI already answers
 * (not a lower-case UUID, a version other than 1) costs no query.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "epro_core.h"
#include "epro_fhir.h"
#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_queue.h"
#include "ngx_http_epro_reply.h"


static ngx_uint_t ngx_http_epro_fhir_read_uuid(ngx_str_t *id);
static void ngx_http_epro_fhir_read_done(ngx_http_epro_lookup_t *l,
    ngx_int_t status);
static void ngx_http_epro_fhir_read_timeout(ngx_http_request_t *r);
static void ngx_http_epro_fhir_read_cleanup(void *data);
static ngx_int_t ngx_http_epro_fhir_read_answer(ngx_http_epro_ctx_t *ctx,
    ngx_int_t status);
static ngx_int_t ngx_http_epro_fhir_read_missing(ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_fhir_read_unavailable(
    ngx_http_epro_ctx_t *ctx);
static ngx_uint_t ngx_http_epro_fhir_read_bound(ngx_http_epro_ctx_t *ctx);
static ngx_uint_t ngx_http_epro_fhir_read_fresh(ngx_http_request_t *r,
    time_t updated);
static ngx_uint_t ngx_http_epro_fhir_read_has(ngx_http_request_t *r);
static void *ngx_http_epro_fhir_read_palloc(void *ctx, size_t size);


ngx_int_t
ngx_http_epro_fhir_read(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_http_cleanup_t        *cln;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        if (ngx_http_epro_reply_header(r, "Allow", "GET, HEAD") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->result = NGX_HTTP_EPRO_METHOD;

        return ngx_http_epro_reply_problem(r, NGX_HTTP_NOT_ALLOWED, NULL,
                                           NULL,
                                           "a QuestionnaireResponse is read "
                                           "with GET or HEAD; it is never "
                                           "changed", ctx);
    }

    /* ids are lower-case UUIDs (the module's or an identifier's); there
     * is only version 1 */

    if (!ngx_http_epro_fhir_read_uuid(&ctx->read_id)
        || (ctx->read_version.len
            && (ctx->read_version.len != 1
                || ctx->read_version.data[0] != '1')))
    {
        return ngx_http_epro_fhir_read_missing(ctx);
    }

    /* only a read has one: creates keep the request pool's first block */

    ctx->lookup = ngx_pcalloc(r->pool, sizeof(ngx_http_epro_lookup_t));
    if (ctx->lookup == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->lookup->db = elcf->db;
    ctx->lookup->table = elcf->dbtable;
    ctx->lookup->pool = r->pool;
    ctx->lookup->done = ngx_http_epro_fhir_read_done;
    ctx->lookup->data = ctx;
    ngx_memcpy(ctx->lookup->id, ctx->read_id.data, EPRO_UUID_LEN);

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_epro_fhir_read_cleanup;
    cln->data = ctx;

    rc = ngx_http_epro_queue_lookup(ctx->lookup);
    if (rc != NGX_OK) {
        return ngx_http_epro_fhir_read_answer(ctx, rc);
    }

    /* epro_pg_timeout bounds the wait, in the queue and in the database */

    ngx_add_timer(r->connection->write, elcf->db->timeout);

    r->connection->log->action = "reading a resource";
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_epro_fhir_read_timeout;
    r->main->count++;

    return NGX_DONE;
}


static ngx_uint_t
ngx_http_epro_fhir_read_uuid(ngx_str_t *id)
{
    u_char      c;
    ngx_uint_t  i;

    if (id->len != EPRO_UUID_LEN) {
        return 0;
    }

    for (i = 0; i < EPRO_UUID_LEN; i++) {
        c = id->data[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }

            continue;
        }

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }

    return 1;
}


/* the queue's callback */

static void
ngx_http_epro_fhir_read_done(ngx_http_epro_lookup_t *l, ngx_int_t status)
{
    ngx_event_t          *wev;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_epro_ctx_t  *ctx;

    ctx = l->data;
    r = ctx->request;
    c = r->connection;
    wev = c->write;

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_finalize_request(r, ngx_http_epro_fhir_read_answer(ctx, status));
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_epro_fhir_read_timeout(ngx_http_request_t *r)
{
    ngx_http_epro_ctx_t  *ctx;

    if (!r->connection->write->timedout) {
        return;
    }

    r->connection->write->timedout = 0;
    r->write_event_handler = ngx_http_request_empty_handler;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "epro: no answer from the database to a read in %M ms",
                  ctx->lookup->db->timeout);

    ngx_http_epro_queue_lookup_cancel(ctx->lookup);

    ngx_http_finalize_request(r,
        ngx_http_epro_fhir_read_answer(ctx, NGX_HTTP_SERVICE_UNAVAILABLE));
}


static void
ngx_http_epro_fhir_read_cleanup(void *data)
{
    ngx_http_epro_ctx_t  *ctx = data;

    ngx_http_epro_queue_lookup_cancel(ctx->lookup);
}


static ngx_int_t
ngx_http_epro_fhir_read_answer(ngx_http_epro_ctx_t *ctx, ngx_int_t status)
{
    char                        updated[32];
    char                        id[EPRO_UUID_LEN + 1];
    time_t                      modified;
    int64_t                     ms;
    epro_buf_t                  b;
    epro_alloc_t                alloc;
    ngx_http_request_t         *r;
    ngx_http_epro_lookup_row_t  *row;

    r = ctx->request;
    r->connection->log->action = "answering a read";

    switch (status) {

    case NGX_HTTP_OK:
        break;

    case NGX_HTTP_NOT_FOUND:
        return ngx_http_epro_fhir_read_missing(ctx);

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return ngx_http_epro_fhir_read_unavailable(ctx);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* epro_bind: another patient's resource is not found, not forbidden */

    if (!ngx_http_epro_fhir_read_bound(ctx)) {
        return ngx_http_epro_fhir_read_missing(ctx);
    }

    row = &ctx->lookup->row;
    ms = row->received_ms;

    epro_unix_to_rfc3339(updated, ms / 1000, (unsigned) (ms % 1000));

    alloc.alloc = ngx_http_epro_fhir_read_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    ngx_memcpy(id, ctx->lookup->id, EPRO_UUID_LEN);
    id[EPRO_UUID_LEN] = '\0';

    if (epro_fhir_resource_head(&b, (char *) row->payload.data,
                                row->payload.len, NULL, id, updated,
                                &ctx->parts, &alloc)
        != EPRO_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->head.data = (u_char *) b.data;
    ctx->head.len = b.len;

    ngx_http_epro_metrics_read(ctx->lookup->db->index, 1);

    modified = (time_t) (ms / 1000);

    return ngx_http_epro_reply_read(ctx, modified,
                                    ngx_http_epro_fhir_read_fresh(r, modified));
}


static ngx_int_t
ngx_http_epro_fhir_read_missing(ngx_http_epro_ctx_t *ctx)
{
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_epro_module);

    ngx_http_epro_metrics_read(elcf->db->index, 0);

    return ngx_http_epro_reply_problem(ctx->request, NGX_HTTP_NOT_FOUND, NULL,
                                       NULL, "no such QuestionnaireResponse "
                                       "(version 1 is the only one)", ctx);
}


static ngx_int_t
ngx_http_epro_fhir_read_unavailable(ngx_http_epro_ctx_t *ctx)
{
    if (ngx_http_epro_reply_header(ctx->request, "Retry-After",
                                   NGX_HTTP_EPRO_RETRY_AFTER)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->result = NGX_HTTP_EPRO_UNAVAILABLE;

    return ngx_http_epro_reply_problem(ctx->request,
                                       NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                                       NULL, "the database did not answer; "
                                       "retry later", ctx);
}


/* every epro_bind member equals the row's */

static ngx_uint_t
ngx_http_epro_fhir_read_bound(ngx_http_epro_ctx_t *ctx)
{
    ngx_str_t                 *have;
    ngx_uint_t                 i;
    ngx_http_epro_bind_t      *bind;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(ctx->request, ngx_http_epro_module);

    if (elcf->binds == NULL) {
        return 1;
    }

    bind = elcf->binds->elts;

    for (i = 0; i < elcf->binds->nelts; i++) {
        if (bind[i].member.len == 9
            && ngx_strncmp(bind[i].member.data, "subjectId", 9) == 0)
        {
            have = &ctx->lookup->row.subject;

        } else if (bind[i].member.len == 7
                   && ngx_strncmp(bind[i].member.data, "studyId", 7) == 0)
        {
            have = &ctx->lookup->row.study;

        } else {
            have = &ctx->lookup->row.site;
        }

        if (have->len != ctx->bound[i].len
            || ngx_strncmp(have->data, ctx->bound[i].data, have->len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The client's copy is current: If-None-Match says so, or, when there is
 * none (RFC 9110, 13.1.3), If-Modified-Since as the location's
 * if_modified_since has nginx answer it for a file: exact (the default)
 * or before; an invalid date is ignored.
 */

static ngx_uint_t
ngx_http_epro_fhir_read_fresh(ngx_http_request_t *r, time_t updated)
{
    time_t                     ims;
    ngx_table_elt_t           *h;
    ngx_http_core_loc_conf_t  *clcf;

    if (r->headers_in.if_none_match) {
        return ngx_http_epro_fhir_read_has(r);
    }

    h = r->headers_in.if_modified_since;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (h == NULL || clcf->if_modified_since == NGX_HTTP_IMS_OFF) {
        return 0;
    }

    ims = ngx_parse_http_time(h->value.data, h->value.len);

    if (ims == NGX_ERROR) {
        return 0;
    }

    return ims == updated
           || (clcf->if_modified_since == NGX_HTTP_IMS_BEFORE
               && ims > updated);
}


/* If-None-Match: "*", or a list with version 1's tag, weak or not */

static ngx_uint_t
ngx_http_epro_fhir_read_has(ngx_http_request_t *r)
{
    u_char  *p, *end, *tag;

    if (r->headers_in.if_none_match == NULL) {
        return 0;
    }

    p = r->headers_in.if_none_match->value.data;
    end = p + r->headers_in.if_none_match->value.len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        tag = p;

        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((p - tag == 1 && *tag == '*')
            || (p - tag == 3 && ngx_strncmp(tag, "\"1\"", 3) == 0)
            || (p - tag == 5 && ngx_strncmp(tag, "W/\"1\"", 5) == 0))
        {
            return 1;
        }
    }

    return 0;
}


static void *
ngx_http_epro_fhir_read_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}
