
/*
 * The content handler: checks the request, reads the body, runs the core
 * on the worker's parse arena, queues the rows and answers once they are
 * committed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/random.h>

#include "ngx_http_epro.h"


#define NGX_HTTP_EPRO_PROBLEM     "urn:epro:problem:"

/* parse arena: chunk size, and what is kept between bodies */
#define NGX_HTTP_EPRO_CHUNK       (64 * 1024)
#define NGX_HTTP_EPRO_ARENA_KEEP  (1024 * 1024)


typedef struct ngx_http_epro_chunk_s  ngx_http_epro_chunk_t;

struct ngx_http_epro_chunk_s {
    ngx_http_epro_chunk_t  *next;
    u_char                 *end;
};


typedef struct {
    ngx_http_epro_chunk_t  *first;
    ngx_http_epro_chunk_t  *cur;      /* NULL: nothing allocated yet */
    u_char                 *pos;
} ngx_http_epro_arena_t;


static ngx_int_t ngx_http_epro_bind_values(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_bind_check(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_str_t *body, epro_alloc_t *a,
    ngx_int_t *rc);
static ngx_int_t ngx_http_epro_read(ngx_http_request_t *r);
static void ngx_http_epro_wait_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_refuse(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_header(ngx_http_request_t *r,
    const char *key, const char *value);
static void ngx_http_epro_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_parse(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_int_t *rc);
static ngx_int_t ngx_http_epro_body(ngx_http_request_t *r, ngx_str_t *body,
    epro_alloc_t *a);
static ngx_int_t ngx_http_epro_enqueue(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_int_t *rc);
static ngx_int_t ngx_http_epro_keep_ids(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static void ngx_http_epro_drop_body(ngx_http_request_t *r);
static void ngx_http_epro_done(ngx_http_epro_waiter_t *w, ngx_int_t status,
    const u_char *inserted);
static void ngx_http_epro_wake(ngx_http_epro_waiter_t *w);
static void ngx_http_epro_reply(ngx_http_epro_ctx_t *ctx, ngx_int_t status,
    const u_char *inserted);
static ngx_int_t ngx_http_epro_json_type(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_assign_ids(ngx_http_request_t *r,
    epro_request_t *req);
static void ngx_http_epro_client(ngx_http_request_t *r, epro_request_t *req);
static ngx_int_t ngx_http_epro_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail, ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_ids(epro_buf_t *b, ngx_http_epro_ctx_t *ctx,
    epro_alloc_t *a);
static ngx_int_t ngx_http_epro_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, epro_buf_t *b);
static void ngx_http_epro_cleanup(void *data);
static void *ngx_http_epro_palloc(void *ctx, size_t size);
static void *ngx_http_epro_arena_alloc(void *ctx, size_t size);
static void ngx_http_epro_arena_reset(ngx_http_epro_arena_t *a);
static ngx_int_t ngx_http_epro_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/*
 * Parsing, checking and encoding a body run in one call, so one arena per
 * worker serves every request: what the core allocates (the cJSON tree,
 * strings, error messages, a gathered body) lives there until the body
 * handler returns, and only the submissions' fields are copied to the
 * request pool.  Chunks are kept for the next body (up to
 * NGX_HTTP_EPRO_ARENA_KEEP): no heap call per request in steady state,
 * and a request waiting for its commit holds a few hundred bytes per
 * submission, not its parse tree.
 */

static ngx_http_epro_arena_t  ngx_http_epro_arena;


static ngx_str_t  ngx_http_epro_json = ngx_string("application/json");
static ngx_str_t  ngx_http_epro_problem_json =
    ngx_string("application/problem+json");


ngx_int_t
ngx_http_epro_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_cleanup_t         *cln;
    ngx_http_epro_ctx_t        *ctx;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_epro_main_conf_t  *emcf;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_epro_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->waiter.done = ngx_http_epro_done;
    ctx->waiter.wake = ngx_http_epro_wake;
    ctx->waiter.data = ctx;
    ngx_http_set_ctx(r, ctx, ngx_http_epro_module);

    rc = ngx_http_epro_bind_values(r, ctx);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (!(r->method & NGX_HTTP_POST)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_epro_header(r, "Allow", "POST") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->result = NGX_HTTP_EPRO_METHOD;

        return ngx_http_epro_problem(r, NGX_HTTP_NOT_ALLOWED,
                                     "method-not-allowed",
                                     "Method Not Allowed",
                                     "submissions are sent with POST", NULL);
    }

    if (ngx_http_epro_json_type(r) != NGX_OK) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->result = NGX_HTTP_EPRO_UNSUPPORTED;

        return ngx_http_epro_problem(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "unsupported-media-type",
                                     "Unsupported Media Type",
                                     "the body must be application/json "
                                     "in UTF-8", NULL);
    }

    if (ngx_http_epro_queue_full(0)) {
        ngx_http_epro_queue_refused();
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

    emcf = ngx_http_get_module_main_conf(r, ngx_http_epro_module);

    ngx_add_timer(r->connection->write, emcf->timeout);

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

    rc = ngx_http_read_client_request_body(r, ngx_http_epro_body_handler);

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
        ngx_http_epro_queue_refused();
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

    if (ngx_http_epro_header(r, "Retry-After", NGX_HTTP_EPRO_RETRY_AFTER)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->result = NGX_HTTP_EPRO_UNAVAILABLE;

    return ngx_http_epro_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "database-unavailable",
                                 "Service Unavailable",
                                 "the queue is full; nothing was "
                                 "stored, retry later", NULL);
}


/* an output header; key and value are string literals */

static ngx_int_t
ngx_http_epro_header(ngx_http_request_t *r, const char *key,
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


static void
ngx_http_epro_body_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc, ret;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    r->connection->log->action = "reading submission";

    ret = ngx_http_epro_enqueue(r, ctx, &rc);

    ngx_http_epro_queue_release(&ctx->waiter);

    /*
     * The rows are in a batch now, or refused: the parse memory and the
     * body are not needed any more, only the ids.
     */

    ctx->req.subs = NULL;
    ngx_http_epro_arena_reset(&ngx_http_epro_arena);
    ngx_http_epro_drop_body(r);

    if (ret == NGX_DONE) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ret == NGX_DECLINED) {
        ngx_http_epro_reply(ctx, rc, NULL);
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
 * Parses the body and queues its rows.  NGX_OK: queued, the request waits
 * for the commit; NGX_DONE: finalize it with *rc (a problem response was
 * sent, or an error); NGX_DECLINED: answer *rc (the queue refused).
 */

static ngx_int_t
ngx_http_epro_enqueue(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_int_t *rc)
{
    char  received[EPRO_TIME_LEN + 1];

    if (!ngx_http_epro_parse(r, ctx, rc)) {
        return NGX_DONE;
    }

    *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    ngx_http_epro_client(r, &ctx->req);

    if (ngx_http_epro_assign_ids(r, &ctx->req) != NGX_OK
        || ngx_http_epro_keep_ids(r, ctx) != NGX_OK)
    {
        return NGX_DONE;
    }

    r->connection->log->action = "queueing submission";

    epro_unix_to_rfc3339(received, r->start_sec, r->start_msec);

    *rc = ngx_http_epro_queue_add(&ctx->waiter, ctx->req.subs,
                                  ctx->req.nsubs, received);

    if (*rc != NGX_OK) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Runs the core on the body in the worker's arena.  Returns 1 with the
 * submissions in the arena (their strings point into it or into the
 * body), or 0 with what to finalize the request with in *rc (a problem
 * response was sent, or an error).
 */

static ngx_int_t
ngx_http_epro_parse(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_int_t *rc)
{
    int                        parsed;
    ngx_str_t                  body;
    epro_alloc_t               alloc;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    alloc.alloc = ngx_http_epro_arena_alloc;
    alloc.free = NULL;
    alloc.ctx = &ngx_http_epro_arena;

    *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    if (ngx_http_epro_body(r, &body, &alloc) != NGX_OK) {
        return 0;
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
        if (ctx->bound == NULL
            || ngx_http_epro_bind_check(r, ctx, &body, &alloc, rc) == NGX_OK)
        {
            return 1;
        }

        /* 403: *rc is the answer */

        goto done;
    }

    /* EPRO_NOMEM: a 500, whatever req.status holds */

    switch (parsed == EPRO_ERROR ? ctx->req.status : EPRO_NOMEM) {

    case EPRO_STATUS_BAD_JSON:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: malformed JSON in a %uz byte body", body.len);

        ctx->result = NGX_HTTP_EPRO_BAD_JSON;

        *rc = ngx_http_epro_problem(r, NGX_HTTP_BAD_REQUEST,
                                    "malformed-json", "Malformed JSON",
                                    "the body is not valid JSON (RFC 8259)",
                                    ctx);
        break;

    case EPRO_STATUS_INVALID:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: invalid submission: %uz error(s)",
                      ctx->req.nerrors);

        ctx->result = (ctx->req.nrules && ctx->req.nrules == ctx->req.nfound)
                      ? NGX_HTTP_EPRO_INSTRUMENT : NGX_HTTP_EPRO_CONTRACT;

        *rc = ngx_http_epro_problem(r, NGX_HTTP_EPRO_UNPROCESSABLE,
                                    "invalid-submission",
                                    "Invalid Submission",
                                    "the submission breaks the contract; "
                                    "nothing was stored",
                                    ctx);
        break;

    default:
        break;
    }

done:

    /* the errors and submissions point into the arena */

    ctx->req.nerrors = 0;
    ctx->req.subs = NULL;
    ctx->req.nsubs = 0;

    return 0;
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

    return ngx_http_epro_problem(r, NGX_HTTP_FORBIDDEN, "forbidden",
                                 "Forbidden", (char *) detail, NULL);
}


/*
 * epro_bind on a valid body: every bound member of every submission
 * must equal its value, or the request is 403 with an error per
 * mismatch (paths only: the values stay out of the answer and the log).
 * NGX_OK: all match; otherwise *rc is what to finalize the request with.
 */

static ngx_int_t
ngx_http_epro_bind_check(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_str_t *body, epro_alloc_t *a, ngx_int_t *rc)
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
                *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                return NGX_ERROR;
            }
        }
    }

    if (bad == 0) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "epro: forbidden: %V of submission %ui does not match "
                  "epro_bind, %ui mismatch(es)",
                  &bind[bad_bind].member, bad_sub, bad);

    ctx->result = NGX_HTTP_EPRO_FORBIDDEN;

    /* not EPRO_OK: the errors go into the answer */
    ctx->req.status = NGX_HTTP_FORBIDDEN;

    *rc = ngx_http_epro_problem(r, NGX_HTTP_FORBIDDEN, "forbidden",
                                "Forbidden",
                                "a submission does not belong to the "
                                "authenticated identity; nothing was "
                                "stored", ctx);

    return NGX_DECLINED;
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


/*
 * Once the rows are copied into a batch the body is not read again: its
 * buffer goes back now, not when the commit answers.  nginx allocated it
 * from the request pool, outside the pool's blocks when over 4 KB, so
 * ngx_pfree() can release it.  $request_body is empty afterwards.
 */

static void
ngx_http_epro_drop_body(ngx_http_request_t *r)
{
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb == NULL || rb->rest != 0) {
        return;
    }

#if (NGX_HTTP_V2)
    if (r->stream) {
        return;
    }
#endif

    if (rb->buf && rb->buf->start) {
        (void) ngx_pfree(r->pool, rb->buf->start);
    }

    rb->buf = NULL;
    rb->bufs = NULL;
}


/* the queue's callbacks: the rows' outcome, room for the body */

static void
ngx_http_epro_done(ngx_http_epro_waiter_t *w, ngx_int_t status,
    const u_char *inserted)
{
    ngx_http_epro_reply(w->data, status, inserted);
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


/*
 * Answers with the outcome of the request's rows: NGX_HTTP_CREATED with
 * inserted[i] set for each row really inserted, or a failure status.
 */

static void
ngx_http_epro_reply(ngx_http_epro_ctx_t *ctx, ngx_int_t status,
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

    alloc.alloc = ngx_http_epro_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    switch (status) {

    case NGX_HTTP_CREATED:
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
            || ngx_http_epro_ids(&b, ctx, &alloc) != NGX_OK
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

        rc = ngx_http_epro_send(r, NGX_HTTP_CREATED, &ngx_http_epro_json, &b);
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
    case NGX_HTTP_GATEWAY_TIME_OUT:
        if (ngx_http_epro_header(r, "Retry-After",
                                 NGX_HTTP_EPRO_RETRY_AFTER)
            != NGX_OK)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        ctx->result = (status == NGX_HTTP_SERVICE_UNAVAILABLE)
                      ? NGX_HTTP_EPRO_UNAVAILABLE : NGX_HTTP_EPRO_TIMEOUT;

        if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
            rc = ngx_http_epro_problem(r, status, "database-unavailable",
                     "Service Unavailable",
                     "nothing was stored; retry later with the same "
                     "submissionId values", ctx);

        } else {
            rc = ngx_http_epro_problem(r, status, "commit-unconfirmed",
                     "Gateway Timeout",
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

        rc = ngx_http_epro_problem(r, status, "rejected-by-database",
                                   "Rejected by the Database",
                                   (char *) num, ctx);
        break;

    default:
        rc = status;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the body as one string: nginx's buffer itself, else gathered in the arena */

static ngx_int_t
ngx_http_epro_body(ngx_http_request_t *r, ngx_str_t *body, epro_alloc_t *a)
{
    off_t                     len;
    size_t                    size;
    u_char                   *p, *last;
    ssize_t                   n;
    ngx_buf_t                *buf;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    /*
     * With request_body_in_single_buf nginx makes room for the part read
     * with the header at the end of the body's buffer but leaves it in
     * its own buffer: move it in, and the body is one string.
     */

    rb = r->request_body;
    cl = rb->bufs;

    if (!r->headers_in.chunked && r->header_in
        && rb->buf && cl->next && cl->next->next == NULL
        && !cl->buf->in_file
        && cl->buf->pos >= r->header_in->start
        && cl->buf->last <= r->header_in->end
        && cl->next->buf->last == rb->buf->last
        && cl->next->buf->end == rb->buf->end)
    {
        buf = cl->next->buf;
        size = cl->buf->last - cl->buf->pos;

        if ((size_t) (buf->end - buf->last) >= size) {
            ngx_memmove(buf->pos + size, buf->pos, buf->last - buf->pos);
            ngx_memcpy(buf->pos, cl->buf->pos, size);
            buf->last += size;

            rb->bufs = cl->next;
        }
    }

    /*
     * Buffers that follow each other in memory (one recv() after another
     * into the same block) are one string too; empty ones are skipped.
     */

    p = NULL;
    last = NULL;

    for (cl = rb->bufs; cl; cl = cl->next) {
        buf = cl->buf;

        if (buf->in_file || (p && buf->pos != buf->last && buf->pos != last)) {
            break;
        }

        if (buf->pos != buf->last) {
            p = p ? p : buf->pos;
            last = buf->last;
        }
    }

    if (cl == NULL) {
        if (p) {
            body->data = p;
            body->len = last - p;
        }

        return NGX_OK;
    }

    len = 0;

    for (cl = rb->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    p = a->alloc(a->ctx, (size_t) len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = (size_t) len;

    for (cl = rb->bufs; cl; cl = cl->next) {
        buf = cl->buf;

        if (!buf->in_file) {
            p = ngx_cpymem(p, buf->pos, buf->last - buf->pos);
            continue;
        }

        size = (size_t) (buf->file_last - buf->file_pos);

        n = ngx_read_file(buf->file, p, size, buf->file_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "epro: short read of the body file: "
                          "%z of %uz bytes", n, size);
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';

    return NGX_OK;
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


static ngx_int_t
ngx_http_epro_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail,
    ngx_http_epro_ctx_t *ctx)
{
    char             uri[64];
    epro_buf_t       b;
    epro_alloc_t     alloc;
    epro_request_t  *req;

    req = ctx ? &ctx->req : NULL;

    alloc.alloc = ngx_http_epro_palloc;
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
            || ngx_http_epro_ids(&b, ctx, &alloc) != NGX_OK
            || epro_buf_add(&b, "}\n", 2, &alloc) != EPRO_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_epro_send(r, status, &ngx_http_epro_problem_json, &b);
}


static ngx_int_t
ngx_http_epro_ids(epro_buf_t *b, ngx_http_epro_ctx_t *ctx, epro_alloc_t *a)
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


static ngx_int_t
ngx_http_epro_send(ngx_http_request_t *r, ngx_uint_t status, ngx_str_t *type,
    epro_buf_t *b)
{
    ngx_int_t             rc;
    ngx_buf_t            *buf;
    ngx_chain_t           out;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);
    ctx->answered = 1;

    r->headers_out.status = status;

    if (status == NGX_HTTP_EPRO_UNPROCESSABLE) {
        /* nginx 1.22 has no status line for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Content");
    }

    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = b->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    buf = ngx_calloc_buf(r->pool);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    buf->pos = (u_char *) b->data;
    buf->last = buf->pos + b->len;
    buf->memory = 1;
    buf->last_buf = (r == r->main) ? 1 : 0;
    buf->last_in_chain = 1;

    out.buf = buf;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_epro_cleanup(void *data)
{
    ngx_http_epro_ctx_t  *ctx = data;

    ngx_http_epro_queue_release(&ctx->waiter);

    if (ctx->waiter.batch) {
        ngx_log_error(NGX_LOG_INFO, ctx->request->connection->log, 0,
                      "epro: client left before the commit of %uz row(s); "
                      "they are still committed", ctx->req.nsubs);

        ngx_http_epro_queue_cancel(&ctx->waiter);

        ctx->result = NGX_HTTP_EPRO_CLIENT_GONE;
        ngx_http_epro_count_result(ctx->result);
    }
}


static void *
ngx_http_epro_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


static void *
ngx_http_epro_arena_alloc(void *ctx, size_t size)
{
    size_t                  n;
    u_char                 *p;
    ngx_http_epro_chunk_t  *c, *next;
    ngx_http_epro_arena_t  *a = ctx;

    size = ngx_align(size, NGX_ALIGNMENT);

    if (a->cur && (size_t) (a->cur->end - a->pos) >= size) {
        p = a->pos;
        a->pos += size;
        return p;
    }

    next = a->cur ? a->cur->next : a->first;

    if (next && (size_t) (next->end - (u_char *) (next + 1)) >= size) {
        c = next;

    } else {
        /* a new chunk, before the next kept one if that is too small */

        n = ngx_max(NGX_HTTP_EPRO_CHUNK, sizeof(ngx_http_epro_chunk_t) + size);

        c = ngx_alloc(n, ngx_cycle->log);
        if (c == NULL) {
            return NULL;
        }

        c->end = (u_char *) c + n;
        c->next = next;

        if (a->cur) {
            a->cur->next = c;

        } else {
            a->first = c;
        }
    }

    a->cur = c;
    p = (u_char *) (c + 1);
    a->pos = p + size;

    return p;
}


/* rewinds the arena; chunks beyond NGX_HTTP_EPRO_ARENA_KEEP are freed */

static void
ngx_http_epro_arena_reset(ngx_http_epro_arena_t *a)
{
    size_t                   kept;
    ngx_http_epro_chunk_t   *c, **pc;

    kept = 0;
    pc = &a->first;

    while (*pc) {
        c = *pc;

        if (kept + (size_t) (c->end - (u_char *) c)
            <= NGX_HTTP_EPRO_ARENA_KEEP)
        {
            kept += c->end - (u_char *) c;
            pc = &c->next;
            continue;
        }

        *pc = c->next;
        ngx_free(c);
    }

    a->cur = NULL;
    a->pos = NULL;
}


void
ngx_http_epro_arena_free(void)
{
    ngx_http_epro_chunk_t  *c;

    while (ngx_http_epro_arena.first) {
        c = ngx_http_epro_arena.first;
        ngx_http_epro_arena.first = c->next;
        ngx_free(c);
    }

    ngx_http_epro_arena.cur = NULL;
    ngx_http_epro_arena.pos = NULL;
}


/*
 * Errors that nginx answers itself in an epro_submit location (413 from
 * client_max_body_size, 400, 408, 500...) get a problem+json body too, so
 * that clients parse one error format.
 */

ngx_int_t
ngx_http_epro_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_epro_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_epro_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_epro_header_filter(ngx_http_request_t *r)
{
    char                      type[32];
    const char               *title;
    epro_buf_t                b;
    ngx_buf_t                *buf;
    epro_alloc_t              alloc;
    ngx_http_epro_ctx_t      *ctx;
    ngx_http_epro_loc_conf_t *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    if (!elcf->submit || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    if (ctx && ctx->answered) {
        ngx_http_epro_count_result(ctx->result);
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

    ngx_http_epro_count_result(ctx->result);

    if (r->headers_out.status < NGX_HTTP_BAD_REQUEST) {
        return ngx_http_next_header_filter(r);
    }

    switch (r->headers_out.status) {
    case NGX_HTTP_BAD_REQUEST:
        title = "Bad Request";
        break;
    case NGX_HTTP_UNAUTHORIZED:
        title = "Unauthorized";
        break;
    case NGX_HTTP_FORBIDDEN:
        title = "Forbidden";
        break;
    case NGX_HTTP_REQUEST_TIME_OUT:
        title = "Request Timeout";
        break;
    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        title = "Payload Too Large";
        break;
    case NGX_HTTP_TOO_MANY_REQUESTS:
        title = "Too Many Requests";
        break;
    case NGX_HTTP_INTERNAL_SERVER_ERROR:
        title = "Internal Server Error";
        break;
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        title = "Service Unavailable";
        break;
    default:
        title = "Error";
    }

    alloc.alloc = ngx_http_epro_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    *ngx_snprintf((u_char *) type, sizeof(type) - 1, "%shttp-%ui",
                  NGX_HTTP_EPRO_PROBLEM, r->headers_out.status) = '\0';

    if (epro_problem_json(&b, (int) r->headers_out.status, type, title,
                          r->headers_out.status
                          == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
                          ? "the body is larger than client_max_body_size"
                          : NULL, NULL, &alloc)
        != EPRO_OK)
    {
        return NGX_ERROR;
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

    r->headers_out.content_type = ngx_http_epro_problem_json;
    r->headers_out.content_type_len = ngx_http_epro_problem_json.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_epro_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
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
