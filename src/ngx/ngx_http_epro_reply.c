
/*
 * The answers of an epro_submit location: 201 with the ids, or an RFC 9457
 * application/problem+json body; and the header and body filters that
 * give nginx's own error pages there the same format.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_handler.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_reply.h"


#define NGX_HTTP_EPRO_PROBLEM     "urn:epro:problem:"


typedef struct {
    ngx_uint_t                 status;
    const char                *title;
} ngx_http_epro_reply_title_t;


static ngx_int_t ngx_http_epro_reply_ids(epro_buf_t *b,
    ngx_http_epro_ctx_t *ctx, epro_alloc_t *a);
static void *ngx_http_epro_reply_palloc(void *ctx, size_t size);
static ngx_int_t ngx_http_epro_reply_chain(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_chain_t *out, size_t len);
static ngx_int_t ngx_http_epro_reply_resource(ngx_http_epro_ctx_t *ctx,
    ngx_uint_t status, ngx_uint_t created);
static ngx_int_t ngx_http_epro_reply_bundle(ngx_http_epro_ctx_t *ctx,
    const u_char *inserted);
static ngx_int_t ngx_http_epro_reply_fhir_created(ngx_http_epro_ctx_t *ctx,
    const u_char *inserted);
static ngx_int_t ngx_http_epro_reply_fhir_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *detail, ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_reply_fhir_page(ngx_uint_t status,
    const char *detail, epro_buf_t *b, epro_alloc_t *a);
static ngx_int_t ngx_http_epro_reply_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_reply_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static ngx_str_t  ngx_http_epro_reply_json = ngx_string("application/json");
static ngx_str_t  ngx_http_epro_reply_problem_json =
    ngx_string("application/problem+json");
static ngx_str_t  ngx_http_epro_reply_fhir_json =
    ngx_string("application/fhir+json; charset=utf-8");


typedef struct {
    ngx_uint_t                 status;
    const char                *code;
} ngx_http_epro_reply_fhir_code_t;


/* the OperationOutcome issue code of an HTTP status (FHIR's IssueType) */

static ngx_http_epro_reply_fhir_code_t  ngx_http_epro_reply_fhir_codes[] = {
    { NGX_HTTP_BAD_REQUEST,              "invalid" },
    { NGX_HTTP_UNAUTHORIZED,             "login" },
    { NGX_HTTP_FORBIDDEN,                "forbidden" },
    { NGX_HTTP_NOT_FOUND,                "not-found" },
    { NGX_HTTP_NOT_ALLOWED,              "not-supported" },
    { NGX_HTTP_EPRO_NOT_ACCEPTABLE,      "not-supported" },
    { NGX_HTTP_REQUEST_TIME_OUT,         "timeout" },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "too-long" },
    { NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,   "not-supported" },
    { NGX_HTTP_EPRO_UNPROCESSABLE,       "processing" },
    { NGX_HTTP_TOO_MANY_REQUESTS,        "throttled" },
    { NGX_HTTP_SERVICE_UNAVAILABLE,      "transient" },
    { NGX_HTTP_GATEWAY_TIME_OUT,         "timeout" },
    { 0,                                 "exception" }
};




/* the titles of the error pages nginx makes in an epro_submit location */

static ngx_http_epro_reply_title_t  ngx_http_epro_reply_titles[] = {
    { NGX_HTTP_BAD_REQUEST,              "Bad Request" },
    { NGX_HTTP_UNAUTHORIZED,             "Unauthorized" },
    { NGX_HTTP_FORBIDDEN,                "Forbidden" },
    { NGX_HTTP_REQUEST_TIME_OUT,         "Request Timeout" },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "Payload Too Large" },
    { NGX_HTTP_TOO_MANY_REQUESTS,        "Too Many Requests" },
    { NGX_HTTP_INTERNAL_SERVER_ERROR,    "Internal Server Error" },
    { NGX_HTTP_SERVICE_UNAVAILABLE,      "Service Unavailable" },
    { 0,                                 "Error" }
};


/* an output header; key and value are string literals */

ngx_int_t
ngx_http_epro_reply_header(ngx_http_request_t *r, const char *key,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.len = ngx_strlen(key);
    h->key.data = (u_char *) key;
    h->value.len = ngx_strlen(value);
    h->value.data = (u_char *) value;

    return NGX_OK;
}


/*
 * Answers with the outcome of the request's rows: NGX_HTTP_CREATED with
 * inserted[i] set for each row really inserted, or a failure status.
 * Returns what to finalize the request with.
 */

ngx_int_t
ngx_http_epro_reply_outcome(ngx_http_epro_ctx_t *ctx, ngx_int_t status,
    const u_char *inserted)
{
    ngx_int_t            rc;
    ngx_uint_t           i, accepted;
    epro_buf_t           b;
    epro_alloc_t         alloc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    u_char               num[128];

    r = ctx->request;
    c = r->connection;

    c->log->action = "answering submission";

    alloc.alloc = ngx_http_epro_reply_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    switch (status) {

    case NGX_HTTP_CREATED:
        if (ctx->bundle) {
            rc = ngx_http_epro_reply_bundle(ctx, inserted);
            break;
        }

        if (ctx->fhir) {
            rc = ngx_http_epro_reply_fhir_created(ctx, inserted);
            break;
        }

        accepted = 0;

        for (i = 0; i < ctx->req.nsubs; i++) {
            accepted += inserted[i] ? 1 : 0;
        }

        if (epro_buf_add(&b, (char *) num,
                         ngx_sprintf(num, "{\"accepted\":%ui,"
                                     "\"duplicates\":%ui,",
                                     accepted, ctx->req.nsubs - accepted)
                         - num, &alloc)
            != EPRO_OK
            || ngx_http_epro_reply_ids(&b, ctx, &alloc) != NGX_OK
            || epro_buf_add(&b, "}\n", 2, &alloc) != EPRO_OK)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "epro: %ui accepted, %ui duplicate",
                       accepted, ctx->req.nsubs - accepted);

        ctx->result = NGX_HTTP_EPRO_CREATED;
        ctx->accepted = accepted;

        rc = ngx_http_epro_reply_send(r, NGX_HTTP_CREATED,
                                      &ngx_http_epro_reply_json, &b);
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
    case NGX_HTTP_GATEWAY_TIME_OUT:
        if (ngx_http_epro_reply_header(r, "Retry-After",
                                       NGX_HTTP_EPRO_RETRY_AFTER)
            != NGX_OK)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        ctx->result = (status == NGX_HTTP_SERVICE_UNAVAILABLE)
                      ? NGX_HTTP_EPRO_UNAVAILABLE : NGX_HTTP_EPRO_TIMEOUT;

        if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
            rc = ngx_http_epro_reply_problem(r, status,
                     "database-unavailable", "Service Unavailable",
                     "nothing was stored; retry later with the same "
                     "submissionId values", ctx);

        } else {
            rc = ngx_http_epro_reply_problem(r, status,
                     "commit-unconfirmed", "Gateway Timeout",
                     "the commit was not confirmed in time, the outcome is "
                     "unknown; retrying with the same submissionId values "
                     "is safe", ctx);
        }

        break;

    case NGX_HTTP_EPRO_UNPROCESSABLE:
        ctx->result = NGX_HTTP_EPRO_REJECTED;

        ngx_sprintf(num, "PostgreSQL refused a row of this request "
                    "(SQLSTATE %s); nothing of it was stored%Z",
                    ctx->waiter.sqlstate);

        rc = ngx_http_epro_reply_problem(r, status, "rejected-by-database",
                                         "Rejected by the Database",
                                         (char *) num, ctx);
        break;

    default:
        rc = status;
    }

    return rc;
}


ngx_int_t
ngx_http_epro_reply_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail,
    ngx_http_epro_ctx_t *ctx)
{
    char                       uri[64];
    epro_buf_t                 b;
    epro_alloc_t               alloc;
    epro_request_t            *req;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    if (elcf->fhir) {
        return ngx_http_epro_reply_fhir_problem(r, status, detail, ctx);
    }

    req = ctx ? &ctx->req : NULL;

    alloc.alloc = ngx_http_epro_reply_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    *ngx_snprintf((u_char *) uri, sizeof(uri) - 1, "%s%s",
                  NGX_HTTP_EPRO_PROBLEM, type) = '\0';

    if (epro_problem_json(&b, (int) status, uri, title, detail,
                          (req && req->status != EPRO_OK) ? req : NULL,
                          &alloc)
        != EPRO_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* 503 and 504 name the ids, so that a retry can reuse them */

    if (ctx && ctx->ids) {
        b.len -= 2;   /* "}\n" */

        if (epro_buf_add(&b, ",", 1, &alloc) != EPRO_OK
            || ngx_http_epro_reply_ids(&b, ctx, &alloc) != NGX_OK
            || epro_buf_add(&b, "}\n", 2, &alloc) != EPRO_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_epro_reply_send(r, status,
                                    &ngx_http_epro_reply_problem_json, &b);
}


static ngx_int_t
ngx_http_epro_reply_ids(epro_buf_t *b, ngx_http_epro_ctx_t *ctx,
    epro_alloc_t *a)
{
    ngx_uint_t  i, n;
    u_char     *id;

    n = ctx->req.nsubs;

    /* one allocation: "ids":[...]}\n with a quoted id and a comma each */

    if (epro_buf_reserve(b, 7 + n * (EPRO_UUID_LEN + 3) + 3, a)
        != EPRO_OK
        || epro_buf_add(b, "\"ids\":[", 7, a) != EPRO_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        id = ctx->ids + i * EPRO_UUID_LEN;

        if ((i && epro_buf_add(b, ",", 1, a) != EPRO_OK)
            || epro_buf_add(b, "\"", 1, a) != EPRO_OK
            || epro_buf_add(b, (char *) id, EPRO_UUID_LEN, a) != EPRO_OK
            || epro_buf_add(b, "\"", 1, a) != EPRO_OK)
        {
            return NGX_ERROR;
        }
    }

    if (epro_buf_add(b, "]", 1, a) != EPRO_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a body of 0 bytes is a last_buf alone: nginx refuses empty memory */

ngx_int_t
ngx_http_epro_reply_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, epro_buf_t *b)
{
    ngx_buf_t    *buf;
    ngx_chain_t   out;

    buf = ngx_calloc_buf(r->pool);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    buf->pos = (u_char *) b->data;
    buf->last = buf->pos + b->len;
    buf->memory = b->len ? 1 : 0;

    out.buf = buf;
    out.next = NULL;

    return ngx_http_epro_reply_chain(r, status, type, &out, b->len);
}


/*
 * Sends len bytes from the buffers in out (from the request pool: nginx
 * keeps them until they are sent; the links it copies), and marks the
 * last one.
 */

static ngx_int_t
ngx_http_epro_reply_chain(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_chain_t *out, size_t len)
{
    ngx_int_t             rc;
    ngx_chain_t          *cl;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);
    ctx->answered = 1;

    r->headers_out.status = status;

    /*
     * Our answers are not a static file's: nginx's not_modified filter,
     * seeing no ETag of its own (ours is a list header), would turn a 200
     * for an If-Match W/"1" or If-Unmodified-Since into 412, and the
     * metadata's for If-None-Match: * into 304.  The read answers
     * If-None-Match itself.
     */

    r->disable_not_modified = 1;

    if (status == NGX_HTTP_EPRO_UNPROCESSABLE) {
        /* nginx 1.22 has no status line for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Content");
    }

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}


static void *
ngx_http_epro_reply_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/*
 * Errors that nginx answers itself in an epro_submit location (413 from
 * client_max_body_size, 400, 408, 500...) get a problem+json body too, so
 * that clients parse one error format.
 */

ngx_int_t
ngx_http_epro_reply_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_epro_reply_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_epro_reply_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_epro_reply_header_filter(ngx_http_request_t *r)
{
    char                          type[32];
    ngx_str_t                    *ctype;
    epro_buf_t                    b;
    const char                   *detail;
    ngx_buf_t                    *buf;
    epro_alloc_t                  alloc;
    ngx_http_epro_ctx_t          *ctx;
    ngx_http_epro_loc_conf_t     *elcf;
    ngx_http_epro_reply_title_t  *t;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    if (!elcf->submit || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    if (ctx && ctx->answered) {
        ngx_http_epro_metrics_result(elcf->db->index, ctx->result);
        return ngx_http_next_header_filter(r);
    }

    /* answered before the handler: access phase, limits, nginx errors */

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_epro_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ctx->request = r;
        ngx_http_set_ctx(r, ctx, ngx_http_epro_module);
    }

    ctx->result = (r->headers_out.status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
                  ? NGX_HTTP_EPRO_TOO_LARGE
                  : (r->headers_out.status < NGX_HTTP_INTERNAL_SERVER_ERROR)
                  ? NGX_HTTP_EPRO_REFUSED : NGX_HTTP_EPRO_ERROR;

    ngx_http_epro_metrics_result(elcf->db->index, ctx->result);

    if (r->headers_out.status < NGX_HTTP_BAD_REQUEST) {
        return ngx_http_next_header_filter(r);
    }

    for (t = ngx_http_epro_reply_titles;
         t->status && t->status != r->headers_out.status;
         t++)
    {
        /* void */
    }

    alloc.alloc = ngx_http_epro_reply_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    *ngx_snprintf((u_char *) type, sizeof(type) - 1, "%shttp-%ui",
                  NGX_HTTP_EPRO_PROBLEM, r->headers_out.status) = '\0';

    detail = (r->headers_out.status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
             ? "the body is larger than client_max_body_size" : NULL;

    if (elcf->fhir) {
        if (ngx_http_epro_reply_fhir_page(r->headers_out.status,
                                          detail ? detail : t->title,
                                          &b, &alloc)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ctype = &ngx_http_epro_reply_fhir_json;

    } else {
        if (epro_problem_json(&b, (int) r->headers_out.status, type,
                              t->title, detail, NULL, &alloc)
            != EPRO_OK)
        {
            return NGX_ERROR;
        }

        ctype = &ngx_http_epro_reply_problem_json;
    }

    buf = ngx_calloc_buf(r->pool);
    ctx->problem = ngx_alloc_chain_link(r->pool);

    if (buf == NULL || ctx->problem == NULL) {
        return NGX_ERROR;
    }

    buf->pos = (u_char *) b.data;
    buf->last = buf->pos + b.len;
    buf->memory = 1;
    buf->last_buf = 1;
    buf->last_in_chain = 1;

    ctx->problem->buf = buf;
    ctx->problem->next = NULL;

    r->headers_out.content_type = *ctype;
    r->headers_out.content_type_len = ctype->len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_epro_reply_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_chain_t          *cl;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    if (ctx == NULL || ctx->problem == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's HTML page is dropped, the problem+json goes once */

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (ctx->replaced) {
        return NGX_OK;
    }

    ctx->replaced = 1;

    return ngx_http_next_body_filter(r, ctx->problem);
}


/*
 * 201 Created, or 200 OK for a retry whose id was stored before (FHIR's
 * conditional create that found one match): Location and ETag of
 * version 1; Last-Modified and meta.lastUpdated only when this request
 * stored it, as only then the module knows when that was.
 */

static ngx_int_t
ngx_http_epro_reply_fhir_created(ngx_http_epro_ctx_t *ctx,
    const u_char *inserted)
{
    u_char               *p;
    size_t                len;
    ngx_str_t            *uri;
    ngx_uint_t            created;
    epro_buf_t            b;
    epro_alloc_t          alloc;
    ngx_table_elt_t      *h;
    ngx_http_request_t   *r;
    char                  msg[128];

    r = ctx->request;
    created = (inserted && inserted[0]) ? 1 : 0;

    alloc.alloc = ngx_http_epro_reply_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    /*
     * A prefix location's resource is [base]/QuestionnaireResponse/<id>,
     * whichever of its URIs took the POST (the base itself too); an exact
     * location's is its URI followed by the id.
     */

    uri = ctx->base.data ? &ctx->base : &r->uri;

    /* r->uri is decoded: escaped again, a %0D%0A in it ends no line */

    len = uri->len + sizeof("/QuestionnaireResponse/") - 1 + EPRO_UUID_LEN
          + sizeof("/_history/1") - 1
          + 2 * ngx_escape_uri(NULL, uri->data, uri->len, NGX_ESCAPE_URI);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = p;
    p = (u_char *) ngx_escape_uri(p, uri->data, uri->len, NGX_ESCAPE_URI);
    p = ctx->base.data
        ? ngx_cpymem(p, "/QuestionnaireResponse/",
                     sizeof("/QuestionnaireResponse/") - 1)
        : ngx_cpymem(p, "/", 1);
    p = ngx_cpymem(p, ctx->ids, EPRO_UUID_LEN);
    p = ngx_cpymem(p, "/_history/1", sizeof("/_history/1") - 1);
    h->value.len = p - h->value.data;

    /* nginx makes it absolute, as absolute_redirect says */
    r->headers_out.location = h;

    if (ngx_http_epro_reply_header(r, "ETag", "W/\"1\"") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* nginx sends headers_out.last_modified_time with 200 only */

    if (created) {
        p = ngx_pnalloc(r->pool, sizeof("Mon, 28 Sep 1970 06:00:00 GMT"));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_http_time(p, r->start_sec) = '\0';

        if (ngx_http_epro_reply_header(r, "Last-Modified", (char *) p)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->prefer_applied
        && ngx_http_epro_reply_header(r, "Preference-Applied",
                                      ctx->prefer_applied)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "epro: FHIR resource %s",
                   created ? "created" : "already stored");

    ctx->result = NGX_HTTP_EPRO_CREATED;
    ctx->accepted = created;

    switch (ctx->prefer) {

    case NGX_HTTP_EPRO_FHIR_REPRESENTATION:
        return ngx_http_epro_reply_resource(ctx, created ? NGX_HTTP_CREATED
                                                         : NGX_HTTP_OK,
                                            created);

    case NGX_HTTP_EPRO_FHIR_OUTCOME:
        *ngx_snprintf((u_char *) msg, sizeof(msg) - 1, "%s "
                      "QuestionnaireResponse/%*s",
                      created ? "created" : "already stored, nothing "
                                            "changed:",
                      (size_t) EPRO_UUID_LEN, ctx->ids) = '\0';

        if (epro_fhir_outcome_one(&b, "information", "informational", msg,
                                  &alloc)
            != EPRO_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        break;

    default: /* NGX_HTTP_EPRO_FHIR_MINIMAL */
        break;
    }

    return ngx_http_epro_reply_send(r, created ? NGX_HTTP_CREATED
                                               : NGX_HTTP_OK,
                                    &ngx_http_epro_reply_fhir_json, &b);
}


/*
 * A Bundle's answer, 200 with a transaction-response or batch-response
 * Bundle: per entry 201 and lastModified for a row this request
 * inserted, 200 for one stored before or by an earlier entry, the
 * OperationOutcome of one refused.  inserted: NULL if nothing was
 * queued.
 */

static ngx_int_t
ngx_http_epro_reply_bundle(ngx_http_epro_ctx_t *ctx, const u_char *inserted)
{
    char                     *ids, received[EPRO_TIME_LEN + 1];
    ngx_uint_t                k, created;
    epro_buf_t                b;
    epro_alloc_t              alloc;
    ngx_http_request_t       *r;
    ngx_http_epro_entry_t    *en;
    epro_fhir_reply_entry_t  *e;

    r = ctx->request;

    alloc.alloc = ngx_http_epro_reply_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    epro_unix_to_rfc3339(received, r->start_sec, r->start_msec);

    e = ngx_pcalloc(r->pool, (ctx->nentries ? ctx->nentries : 1)
                             * sizeof(epro_fhir_reply_entry_t));
    ids = ngx_pnalloc(r->pool, ctx->req.nsubs * (EPRO_UUID_LEN + 1) + 1);

    if (e == NULL || ids == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (k = 0; k < ctx->req.nsubs; k++) {
        ngx_memcpy(ids + k * (EPRO_UUID_LEN + 1),
                   ctx->ids + k * EPRO_UUID_LEN, EPRO_UUID_LEN);
        ids[k * (EPRO_UUID_LEN + 1) + EPRO_UUID_LEN] = '\0';
    }

    created = 0;

    for (k = 0; k < ctx->nentries; k++) {
        en = &ctx->entries[k];

        if (en->sub < 0) {
            e[k].status = en->status;
            e[k].outcome.data = (char *) en->outcome.data;
            e[k].outcome.len = en->outcome.len;
            continue;
        }

        e[k].id = ids + en->sub * (EPRO_UUID_LEN + 1);

        if (en->status == 0 && inserted && inserted[en->sub]) {
            e[k].status = NGX_HTTP_CREATED;
            e[k].modified = received;
            created++;

        } else {
            e[k].status = NGX_HTTP_OK;
        }
    }

    if (epro_fhir_bundle_response(&b, ctx->batch, e, ctx->nentries, &alloc)
        != EPRO_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "epro: Bundle of %ui entries: %ui created, %ui already "
                   "stored, %ui refused", ctx->nentries, created,
                   ctx->nentries - created - ctx->refused, ctx->refused);

    ctx->result = NGX_HTTP_EPRO_CREATED;
    ctx->accepted = created;

    ngx_http_epro_metrics_bundle(ctx->waiter.db->index, ctx->batch,
                                 ctx->req.nsubs, ctx->repeated,
                                 ctx->refused);

    return ngx_http_epro_reply_send(r, NGX_HTTP_OK,
                                    &ngx_http_epro_reply_fhir_json, &b);
}


/*
 * The stored resource without a copy of the body: the head written at
 * queueing time (id, meta), then ',' and each run of the body's members,
 * then "}\n".  A retry's 200 has no lastUpdated of its own: it is cut
 * out of the head.
 */

static ngx_int_t
ngx_http_epro_reply_resource(ngx_http_epro_ctx_t *ctx, ngx_uint_t status,
    ngx_uint_t created)
{
    size_t               i, n, len;
    u_char              *head;
    ngx_buf_t           *b;
    epro_str_t          *run;
    ngx_chain_t         *out;
    ngx_http_request_t  *r;

    static u_char        comma[] = ",";
    static u_char        end[] = EPRO_FHIR_RESOURCE_END;

    r = ctx->request;
    head = ctx->head.data;
    len = ctx->head.len;

    if (!created && len) {
        ngx_memmove(head + ctx->parts.at, head + ctx->parts.at + ctx->parts.n,
                    len - ctx->parts.at - ctx->parts.n);
        len -= ctx->parts.n;
    }

    /* head, ',' and a run each, the end */

    n = 2 + 2 * ctx->parts.nruns;

    b = ngx_pcalloc(r->pool, n * (sizeof(ngx_buf_t) + sizeof(ngx_chain_t)));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out = (ngx_chain_t *) &b[n];

    b[0].pos = head;
    b[0].last = head + len;

    for (i = 0; i < ctx->parts.nruns; i++) {
        run = &ctx->parts.run[i];

        b[1 + 2 * i].pos = comma;
        b[1 + 2 * i].last = comma + 1;
        b[2 + 2 * i].pos = (u_char *) run->data;
        b[2 + 2 * i].last = (u_char *) run->data + run->len;
        len += 1 + run->len;
    }

    b[n - 1].pos = end;
    b[n - 1].last = end + sizeof(end) - 1;
    len += sizeof(end) - 1;

    for (i = 0; i < n; i++) {
        b[i].memory = 1;
        out[i].buf = &b[i];
        out[i].next = (i + 1 < n) ? &out[i + 1] : NULL;
    }

    return ngx_http_epro_reply_chain(r, status, &ngx_http_epro_reply_fhir_json,
                                     out, len);
}


/*
 * A read by id: the stored resource (ctx->head and ctx->parts, as a
 * create's), or 304 to a client that has version 1 (If-None-Match).
 */

ngx_int_t
ngx_http_epro_reply_read(ngx_http_epro_ctx_t *ctx, time_t updated,
    ngx_uint_t not_modified)
{
    u_char              *p;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ngx_http_epro_reply_header(r, "ETag", "W/\"1\"") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("Mon, 28 Sep 1970 06:00:00 GMT"));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_http_time(p, updated) = '\0';

    if (ngx_http_epro_reply_header(r, "Last-Modified", (char *) p)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!not_modified) {
        return ngx_http_epro_reply_resource(ctx, NGX_HTTP_OK, 1);
    }

    ctx->answered = 1;

    r->headers_out.status = NGX_HTTP_NOT_MODIFIED;
    r->headers_out.content_length_n = -1;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* an OperationOutcome for a failed request on a FHIR location */

static ngx_int_t
ngx_http_epro_reply_fhir_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *detail, ngx_http_epro_ctx_t *ctx)
{
    u_char        *p;
    epro_buf_t     b;
    epro_alloc_t   alloc;

    alloc.alloc = ngx_http_epro_reply_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    if (ctx && ctx->fhir && ctx->fhir->nissues) {
        if (epro_fhir_outcome_json(&b, ctx->fhir, &alloc) != EPRO_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_epro_reply_send(r, status,
                                        &ngx_http_epro_reply_fhir_json, &b);
    }

    /* 503 and 504 name the id, so that a retry can be matched to it */

    if (ctx && ctx->ids && !ctx->bundle
        && (status == NGX_HTTP_SERVICE_UNAVAILABLE
            || status == NGX_HTTP_GATEWAY_TIME_OUT))
    {
        p = ngx_pnalloc(r->pool, 192);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_snprintf(p, 191, "%s (QuestionnaireResponse/%*s)",
                      status == NGX_HTTP_SERVICE_UNAVAILABLE
                      ? "nothing was stored; retry later with the same "
                        "identifier"
                      : "the commit was not confirmed in time, the outcome "
                        "is unknown; a retry with the same identifier is "
                        "safe",
                      (size_t) EPRO_UUID_LEN, ctx->ids) = '\0';

        detail = (char *) p;
    }

    if (ngx_http_epro_reply_fhir_page(status, detail, &b, &alloc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_epro_reply_send(r, status, &ngx_http_epro_reply_fhir_json,
                                    &b);
}


/* the OperationOutcome of one issue: the status's code, the detail */

static ngx_int_t
ngx_http_epro_reply_fhir_page(ngx_uint_t status, const char *detail,
    epro_buf_t *b, epro_alloc_t *a)
{
    ngx_http_epro_reply_fhir_code_t  *c;

    for (c = ngx_http_epro_reply_fhir_codes; c->status && c->status != status;
         c++)
    {
        /* void */
    }

    return (epro_fhir_outcome_one(b, "error", c->code,
                                  detail ? detail : "the request failed", a)
            == EPRO_OK)
           ? NGX_OK : NGX_ERROR;
}
