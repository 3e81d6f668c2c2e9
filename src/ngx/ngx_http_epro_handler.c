
/*
 * The content handler: checks the request, reads the body, runs the core
 * on the worker's parse arena, queues the rows and answers once they are
 * committed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/random.h>

#include "ngx_http_epro_handler.h"
#include "ngx_http_epro_body.h"
#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_queue.h"
#include "ngx_http_epro_reply.h"


static ngx_int_t ngx_http_epro_bind_values(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_column_values(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_read(ngx_http_request_t *r);
static void ngx_http_epro_wait_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_refuse(ngx_http_request_t *r);
static void ngx_http_epro_read_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_parse(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_bind_check(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_str_t *body, epro_alloc_t *a);
static ngx_int_t ngx_http_epro_enqueue(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_keep_ids(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static void ngx_http_epro_done(ngx_http_epro_waiter_t *w, ngx_int_t status,
    const u_char *inserted);
static void ngx_http_epro_wake(ngx_http_epro_waiter_t *w);
static ngx_int_t ngx_http_epro_json_type(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_assign_ids(ngx_http_request_t *r,
    epro_request_t *req);
static void ngx_http_epro_client(ngx_http_request_t *r, epro_request_t *req);
static void ngx_http_epro_cleanup(void *data);


ngx_int_t
ngx_http_epro_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_cleanup_t        *cln;
    ngx_http_epro_ctx_t       *ctx;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_epro_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->waiter.db = elcf->db;
    ctx->waiter.done = ngx_http_epro_done;
    ctx->waiter.wake = ngx_http_epro_wake;
    ctx->waiter.data = ctx;
    ngx_http_set_ctx(r, ctx, ngx_http_epro_module);

    if (elcf->fhir) {
        ngx_http_epro_fhir_route(r, ctx);

        /* a client reads the server's capabilities before it has an
         * identity to bind */

        if (ctx->route == NGX_HTTP_EPRO_FHIR_METADATA) {
            return ngx_http_epro_fhir_metadata(r, ctx);
        }

        if (ctx->route == NGX_HTTP_EPRO_FHIR_UNKNOWN) {
            return ngx_http_epro_fhir_unknown(r, ctx);
        }
    }

    rc = ngx_http_epro_bind_values(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (elcf->columns) {
        rc = ngx_http_epro_column_values(r, ctx);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    if (ctx->route == NGX_HTTP_EPRO_FHIR_READ) {
        return ngx_http_epro_fhir_read(r, ctx);
    }

    if (!(r->method & NGX_HTTP_POST)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_epro_reply_header(r, "Allow", "POST") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->result = NGX_HTTP_EPRO_METHOD;

        return ngx_http_epro_reply_problem(r, NGX_HTTP_NOT_ALLOWED,
                                           "method-not-allowed",
                                           "Method Not Allowed",
                                           "submissions are sent with POST",
                                           NULL);
    }

    if ((elcf->fhir ? ngx_http_epro_fhir_type(r)
                    : ngx_http_epro_json_type(r))
        != NGX_OK)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->result = NGX_HTTP_EPRO_UNSUPPORTED;

        return ngx_http_epro_reply_problem(r,
                                           NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           "unsupported-media-type",
                                           "Unsupported Media Type",
                                           elcf->fhir
                                           ? "the body must be "
                                             "application/fhir+json or "
                                             "application/json in UTF-8, "
                                             "FHIR 4.0"
                                           : "the body must be "
                                             "application/json in UTF-8",
                                           NULL);
    }

    if (ngx_http_epro_queue_full(elcf->db, 0)) {
        ngx_http_epro_queue_refused(elcf->db);
        return ngx_http_epro_refuse(r);
    }

    /* the cleanup gives back the room a body took in the queue */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_epro_cleanup;
    cln->data = ctx;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ctx->waiter.size = (r->headers_in.content_length_n >= 0)
                       ? (size_t) r->headers_in.content_length_n
                       : clcf->client_body_buffer_size;

    if (clcf->client_max_body_size) {
        ctx->waiter.size = ngx_min(ctx->waiter.size,
                                   (size_t) clcf->client_max_body_size);
    }

    switch (ngx_http_epro_queue_admit(&ctx->waiter)) {

    case NGX_OK:
        return ngx_http_epro_read(r);

    case NGX_BUSY:
        return ngx_http_epro_refuse(r);

    default: /* NGX_AGAIN */
        break;
    }

    /*
     * epro_queue_max_bytes: the body stays in the socket until there is
     * room for it, up to epro_pg_timeout; the request holds a reference.
     */

    ngx_add_timer(r->connection->write, elcf->db->timeout);

    r->connection->log->action = "waiting for room in the queue";
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_epro_wait_handler;
    r->main->count++;

    return NGX_DONE;
}


static ngx_int_t
ngx_http_epro_read(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    /*
     * A body that fits in client_body_buffer_size arrives in one buffer,
     * the part read with the header included: it is parsed in place and
     * the rows point into it, with no copy.
     */

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_epro_read_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* posted by the queue when there is room, or the wait timed out */

static void
ngx_http_epro_wait_handler(ngx_http_request_t *r)
{
    ngx_event_t          *wev;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);
    wev = r->connection->write;

    if (ctx->waiter.waiting && !wev->timedout) {
        return;
    }

    wev->timedout = 0;
    r->write_event_handler = ngx_http_request_empty_handler;
    r->connection->log->action = NULL;

    if (ctx->waiter.waiting) {
        ngx_http_epro_queue_release(&ctx->waiter);
        ngx_http_epro_queue_refused(ctx->waiter.db);
        ngx_http_finalize_request(r, ngx_http_epro_refuse(r));
        return;
    }

    ngx_http_finalize_request(r, ngx_http_epro_read(r));
}


/* 503 before the body is read: the queue is full */

static ngx_int_t
ngx_http_epro_refuse(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_epro_reply_header(r, "Retry-After",
                                   NGX_HTTP_EPRO_RETRY_AFTER)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->result = NGX_HTTP_EPRO_UNAVAILABLE;

    return ngx_http_epro_reply_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "database-unavailable",
                                       "Service Unavailable",
                                       "the queue is full; nothing was "
                                       "stored, retry later", NULL);
}


static void
ngx_http_epro_read_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    r->connection->log->action = "reading submission";

    rc = ngx_http_epro_enqueue(r, ctx);

    ngx_http_epro_queue_release(&ctx->waiter);

    /*
     * The rows are in a batch now, or refused: the parse memory and the
     * body are not needed any more, only the ids.
     */

    ctx->req.subs = NULL;
    ngx_http_epro_body_reset();

    if (!ctx->keep_body) {
        ngx_http_epro_body_drop(r);
    }

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    /*
     * Wait for the commit, holding the reference that reading the body
     * took; a client that goes away finalizes the request, and the
     * request's cleanup (run before the access log is written, unlike a
     * pool cleanup) unlinks it from the batch, whose rows still commit.
     */

    r->connection->log->action = "waiting for commit";
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
}


/*
 * Parses the body and queues its rows.  NGX_DONE: queued, the request
 * waits for the commit; anything else is what to finalize it with (a
 * problem response was sent, or an error).
 */

static ngx_int_t
ngx_http_epro_enqueue(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    char                       received[EPRO_TIME_LEN + 1];
    ngx_int_t                  rc;
    ngx_http_epro_loc_conf_t  *elcf;

    rc = ngx_http_epro_parse(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_http_epro_client(r, &ctx->req);

    if (ngx_http_epro_assign_ids(r, &ctx->req) != NGX_OK
        || ngx_http_epro_keep_ids(r, ctx) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->connection->log->action = "queueing submission";

    epro_unix_to_rfc3339(received, r->start_sec, r->start_msec);

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    if (ctx->fhir && ngx_http_epro_fhir_keep(r, ctx, received) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_epro_queue_add(&ctx->waiter, elcf->dbtable, ctx->req.subs,
                                 ctx->req.nsubs, received, ctx->extra);

    if (rc != NGX_OK) {
        /* refused by the queue: rc is a status to answer with */
        return ngx_http_epro_reply_outcome(ctx, rc, NULL);
    }

    return NGX_DONE;
}


/*
 * Runs the core on the body in the worker's arena.  NGX_DECLINED: go on,
 * the submissions are in the arena (their strings point into it or into
 * the body); anything else is what to finalize the request with (a
 * problem response was sent, or an error).
 */

static ngx_int_t
ngx_http_epro_parse(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    int                        parsed;
    ngx_int_t                  rc;
    ngx_str_t                  body;
    epro_alloc_t               alloc;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    ngx_http_epro_body_allocator(&alloc);

    if (ngx_http_epro_body_gather(r, &body, &alloc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (elcf->fhir) {
        rc = ngx_http_epro_fhir_parse(r, ctx, &body, &alloc);

        if (rc != NGX_DECLINED || ctx->bound == NULL) {
            return rc;
        }

        rc = ngx_http_epro_bind_check(r, ctx, &body, &alloc);
        if (rc == NGX_DECLINED) {
            return NGX_DECLINED;
        }

        ctx->fhir->nissues = 0;

        goto done;
    }

    ctx->req.max_submissions = elcf->max_submissions;
    ctx->req.instruments = elcf->instruments;
    ctx->req.policy = elcf->effective_policy;
    ctx->req.now_ms = (int64_t) r->start_sec * 1000 + r->start_msec;
    ctx->req.skew_ms = (elcf->clock_skew == NGX_HTTP_EPRO_OFF)
                       ? -1 : (int64_t) elcf->clock_skew;
    ctx->req.max_age_ms = (elcf->max_age == NGX_HTTP_EPRO_OFF)
                          ? -1 : (int64_t) elcf->max_age;

    parsed = epro_parse(&ctx->req, (const char *) body.data, body.len,
                        &alloc);

    if (parsed == EPRO_OK) {
        if (ctx->bound == NULL) {
            return NGX_DECLINED;
        }

        rc = ngx_http_epro_bind_check(r, ctx, &body, &alloc);
        if (rc == NGX_DECLINED) {
            return NGX_DECLINED;
        }

        /* 403, or 500: rc is the answer */

        goto done;
    }

    /* EPRO_NOMEM: a 500, whatever req.status holds */

    switch (parsed == EPRO_ERROR ? ctx->req.status : EPRO_NOMEM) {

    case EPRO_STATUS_BAD_JSON:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: malformed JSON in a %uz byte body", body.len);

        ctx->result = NGX_HTTP_EPRO_BAD_JSON;

        rc = ngx_http_epro_reply_problem(r, NGX_HTTP_BAD_REQUEST,
                                         "malformed-json", "Malformed JSON",
                                         "the body is not valid JSON "
                                         "(RFC 8259)", ctx);
        break;

    case EPRO_STATUS_INVALID:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: invalid submission: %uz error(s)",
                      ctx->req.nerrors);

        ctx->result = (ctx->req.nrules && ctx->req.nrules == ctx->req.nfound)
                      ? NGX_HTTP_EPRO_INSTRUMENT : NGX_HTTP_EPRO_CONTRACT;

        rc = ngx_http_epro_reply_problem(r, NGX_HTTP_EPRO_UNPROCESSABLE,
                                         "invalid-submission",
                                         "Invalid Submission",
                                         "the submission breaks the "
                                         "contract; nothing was stored",
                                         ctx);
        break;

    default:
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        break;
    }

done:

    /* the errors and submissions point into the arena */

    ctx->req.nerrors = 0;
    ctx->req.subs = NULL;
    ctx->req.nsubs = 0;

    return rc;
}


/*
 * epro_bind: the values are taken once, before anything else, as the
 * access phase would: an empty one (the variable not set, no identity)
 * is 403 at once, the body unread.  NGX_DECLINED: go on; anything else
 * is the handler's answer.
 */

static ngx_int_t
ngx_http_epro_bind_values(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    u_char                    *detail;
    ngx_int_t                  rc;
    ngx_uint_t                 i, n;
    ngx_http_epro_bind_t      *bind;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    if (elcf->binds == NULL) {
        return NGX_DECLINED;
    }

    bind = elcf->binds->elts;
    n = elcf->binds->nelts;

    ctx->bound = ngx_palloc(r->pool, n * sizeof(ngx_str_t));
    if (ctx->bound == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_complex_value(r, &bind[i].value, &ctx->bound[i])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->bound[i].len == 0) {
            break;
        }
    }

    if (i == n) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "epro: forbidden: the epro_bind value for %V is empty",
                  &bind[i].member);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    detail = ngx_pnalloc(r->pool, 96);
    if (detail == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(detail, "the request has no authenticated %V; "
                "nothing was stored%Z", &bind[i].member);

    ctx->result = NGX_HTTP_EPRO_FORBIDDEN;

    return ngx_http_epro_reply_problem(r, NGX_HTTP_FORBIDDEN, "forbidden",
                                       "Forbidden", (char *) detail, NULL);
}


/*
 * epro_column: the values are taken once, as epro_bind's are, and stored
 * in every row; an empty one (the variable not set) is SQL NULL.  A value
 * too long is 400 at once, the body unread; only its column is named.
 * NGX_DECLINED: go on; anything else is the handler's answer.
 */

static ngx_int_t
ngx_http_epro_column_values(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    u_char                    *detail;
    ngx_int_t                  rc;
    ngx_str_t                  v;
    ngx_uint_t                 i, n;
    ngx_http_epro_column_t    *col;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    col = elcf->columns->elts;
    n = elcf->columns->nelts;

    ctx->extra = ngx_palloc(r->pool, n * sizeof(epro_str_t));
    if (ctx->extra == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_complex_value(r, &col[i].value, &v) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (v.len > NGX_HTTP_EPRO_COLUMN_MAX) {
            break;
        }

        ctx->extra[i].data = v.len ? (const char *) v.data : NULL;
        ctx->extra[i].len = v.len;
    }

    if (i == n) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "epro: the epro_column value for %V is over %d bytes",
                  &col[i].name, NGX_HTTP_EPRO_COLUMN_MAX);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    detail = ngx_pnalloc(r->pool, col[i].name.len + 80);
    if (detail == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(detail, "the value for column %V is over %d bytes; "
                "nothing was stored%Z", &col[i].name,
                NGX_HTTP_EPRO_COLUMN_MAX);

    ctx->result = NGX_HTTP_EPRO_TOO_LARGE;

    return ngx_http_epro_reply_problem(r, NGX_HTTP_BAD_REQUEST,
                                       "column-too-long", "Column Too Long",
                                       (char *) detail, NULL);
}


/*
 * epro_bind on a valid body: every bound member of every submission
 * must equal its value, or the request is 403 with an error per
 * mismatch (paths only: the values stay out of the answer and the log).
 * NGX_DECLINED: all match; anything else is what to finalize the request
 * with.
 */

static ngx_int_t
ngx_http_epro_bind_check(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_str_t *body, epro_alloc_t *a)
{
    u_char                    *p, *end, path[64];
    ngx_str_t                 *want;
    ngx_uint_t                 i, j, n, array, bad, bad_sub, bad_bind;
    epro_str_t                *v;
    ngx_http_epro_bind_t      *bind;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    bind = elcf->binds->elts;
    n = elcf->binds->nelts;

    /* the core does not say whether the body was an array: paths do */

    end = body->data + body->len;

    for (p = body->data;
         p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n');
         p++)
    {
        /* void */
    }

    array = (p < end && *p == '[');

    bad = 0;
    bad_sub = 0;
    bad_bind = 0;

    for (i = 0; i < ctx->req.nsubs; i++) {
        for (j = 0; j < n; j++) {
            v = (epro_str_t *) ((u_char *) &ctx->req.subs[i]
                                + bind[j].offset);
            want = &ctx->bound[j];

            if (v->data && v->len == want->len
                && ngx_memcmp(v->data, want->data, want->len) == 0)
            {
                continue;
            }

            if (bad++ == 0) {
                bad_sub = i;
                bad_bind = j;
            }

            if (ctx->fhir) {
                if (ngx_http_epro_fhir_bind_issue(ctx, i, &bind[j].member,
                                                  v->data == NULL, a)
                    != NGX_OK)
                {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }

                continue;
            }

            if (array) {
                *ngx_snprintf(path, sizeof(path) - 1, "/%ui/%V", i,
                              &bind[j].member) = '\0';

            } else {
                *ngx_snprintf(path, sizeof(path) - 1, "/%V",
                              &bind[j].member) = '\0';
            }

            if (epro_error(&ctx->req, a, (char *) path,
                           v->data ? "does not match the authenticated "
                                     "identity"
                                   : "is absent but must match the "
                                     "authenticated identity")
                != EPRO_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    if (bad == 0) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "epro: forbidden: %V of submission %ui does not match "
                  "epro_bind, %ui mismatch(es)",
                  &bind[bad_bind].member, bad_sub, bad);

    ctx->result = NGX_HTTP_EPRO_FORBIDDEN;

    /* not EPRO_OK: the errors go into the answer */
    ctx->req.status = NGX_HTTP_FORBIDDEN;

    return ngx_http_epro_reply_problem(r, NGX_HTTP_FORBIDDEN, "forbidden",
                                       "Forbidden",
                                       "a submission does not belong to "
                                       "the authenticated identity; "
                                       "nothing was stored", ctx);
}


/* the ids, for the answer and $epro_ids: all a waiting request keeps */

static ngx_int_t
ngx_http_epro_keep_ids(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    u_char      *p;
    ngx_uint_t   i;

    p = ngx_pnalloc(r->pool, ctx->req.nsubs * EPRO_UUID_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->ids = p;

    for (i = 0; i < ctx->req.nsubs; i++) {
        p = ngx_cpymem(p, ctx->req.subs[i].id, EPRO_UUID_LEN);
    }

    return NGX_OK;
}


/* the queue's callbacks: the rows' outcome, room for the body */

static void
ngx_http_epro_done(ngx_http_epro_waiter_t *w, ngx_int_t status,
    const u_char *inserted)
{
    ngx_int_t             rc;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_epro_ctx_t  *ctx;

    ctx = w->data;
    r = ctx->request;
    c = r->connection;

    rc = ngx_http_epro_reply_outcome(ctx, status, inserted);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_epro_wake(ngx_http_epro_waiter_t *w)
{
    ngx_event_t          *wev;
    ngx_http_epro_ctx_t  *ctx;

    ctx = w->data;
    wev = ctx->request->connection->write;

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    ngx_post_event(wev, &ngx_posted_events);
}


/* "application/json", optionally with charset=utf-8 */

static ngx_int_t
ngx_http_epro_json_type(ngx_http_request_t *r)
{
    u_char  *p, *end;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;

    if (end - p < 16 || ngx_strncasecmp(p, (u_char *) "application/json", 16))
    {
        return NGX_DECLINED;
    }

    for (p += 16; p < end && (*p == ' ' || *p == '\t'); p++) { /* void */ }

    if (p == end) {
        return NGX_OK;
    }

    if (*p++ != ';') {
        return NGX_DECLINED;
    }

    for ( /* void */ ; p < end && (*p == ' ' || *p == '\t'); p++) {
        /* void */
    }

    if (end - p < 8 || ngx_strncasecmp(p, (u_char *) "charset=", 8)) {
        return NGX_DECLINED;
    }

    p += 8;

    if (end - p >= 7 && p[0] == '"' && p[6] == '"') {
        if (ngx_strncasecmp(p + 1, (u_char *) "utf-8", 5)) {
            return NGX_DECLINED;
        }

        p += 7;

    } else if (end - p >= 5 && ngx_strncasecmp(p, (u_char *) "utf-8", 5) == 0)
    {
        p += 5;

    } else {
        return NGX_DECLINED;
    }

    for ( /* void */ ; p < end && (*p == ' ' || *p == '\t'); p++) {
        /* void */
    }

    return (p == end) ? NGX_OK : NGX_DECLINED;
}


/*
 * The client's address, as realip left it, kept with each row so that a
 * row can be attributed; not an IP address (a unix socket): NULL.
 */

static void
ngx_http_epro_client(ngx_http_request_t *r, epro_request_t *req)
{
    ngx_uint_t   i;
    epro_str_t   addr;

    addr.data = NULL;
    addr.len = 0;

    switch (r->connection->sockaddr->sa_family) {
    case AF_INET:
#if (NGX_HAVE_INET6)
    case AF_INET6:
#endif
        addr.data = (char *) r->connection->addr_text.data;
        addr.len = r->connection->addr_text.len;
        break;
    }

    for (i = 0; i < req->nsubs; i++) {
        req->subs[i].client = addr;
    }
}


/*
 * UUIDv7 for submissions sent without an id.  The random part comes from
 * the kernel: a guessable id would let anyone pre-empt a patient's row.
 */

static ngx_int_t
ngx_http_epro_assign_ids(ngx_http_request_t *r, epro_request_t *req)
{
    uint64_t    ms;
    ngx_uint_t  i;
    ngx_time_t *tp;

    static u_char      rnd[1000];
    static ngx_uint_t  used = sizeof(rnd);

    tp = ngx_timeofday();
    ms = (uint64_t) tp->sec * 1000 + tp->msec;

    for (i = 0; i < req->nsubs; i++) {
        if (req->subs[i].id[0] != '\0') {
            continue;
        }

        if (used + 10 > sizeof(rnd)) {
            if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd)) {
                ngx_log_error(NGX_LOG_ALERT, r->connection->log, ngx_errno,
                              "epro: getrandom() failed");
                return NGX_ERROR;
            }

            used = 0;
        }

        epro_uuid_v7(req->subs[i].id, ms, rnd + used);
        used += 10;
    }

    return NGX_OK;
}


static void
ngx_http_epro_cleanup(void *data)
{
    ngx_http_epro_ctx_t  *ctx = data;

    ngx_http_epro_queue_release(&ctx->waiter);

    if (ctx->waiter.batch) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "epro: client left before the commit of %uz row(s); "
                      "they are still committed, unless the database "
                      "refuses their batch", ctx->req.nsubs);

        ngx_http_epro_queue_cancel(&ctx->waiter);

        ctx->result = NGX_HTTP_EPRO_CLIENT_GONE;
        ngx_http_epro_metrics_result(ctx->waiter.db->index, ctx->result);
    }
}
