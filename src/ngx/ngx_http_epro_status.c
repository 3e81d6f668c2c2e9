
/*
 * Metrics shared by all workers (a shared memory zone of atomic counters),
 * the epro_status handler that prints them for Prometheus, and the
 * $epro_* variables.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro.h"


#define NGX_HTTP_EPRO_ZONE_SIZE  (128 * 1024)
#define NGX_HTTP_EPRO_CLASSES    (36 * 36)
#define NGX_HTTP_EPRO_SLOTS      64


static const ngx_uint_t  ngx_http_epro_rows_buckets[] = {
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000
};

#define NGX_HTTP_EPRO_ROWS_BUCKETS                                          \
    (sizeof(ngx_http_epro_rows_buckets) / sizeof(ngx_uint_t))

static const ngx_msec_t  ngx_http_epro_ms_buckets[] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

#define NGX_HTTP_EPRO_MS_BUCKETS                                            \
    (sizeof(ngx_http_epro_ms_buckets) / sizeof(ngx_msec_t))


/*
 * Gauges are kept per worker process, in a slot it claims at start: a
 * worker that dies cannot take its share back, so a scrape sums only the
 * slots of live processes, and a new worker may reuse a dead one's slot.
 */

typedef struct {
    ngx_atomic_t     pid;
    ngx_atomic_t     queued_rows;
    ngx_atomic_t     queue_bytes;
    ngx_atomic_t     waiting;
    ngx_atomic_t     conns[NGX_HTTP_EPRO_NSTATES];
} ngx_http_epro_slot_t;


typedef struct {
    ngx_atomic_t     requests[NGX_HTTP_EPRO_NRESULTS];
    ngx_atomic_t     accepted;
    ngx_atomic_t     duplicates;
    ngx_atomic_t     batches;
    ngx_atomic_t     batch_rows[NGX_HTTP_EPRO_ROWS_BUCKETS + 1];
    ngx_atomic_t     batch_rows_sum;
    ngx_atomic_t     commit_ms[NGX_HTTP_EPRO_MS_BUCKETS + 1];
    ngx_atomic_t     commit_ms_sum;
    ngx_atomic_t     db_errors[NGX_HTTP_EPRO_CLASSES];
    ngx_http_epro_slot_t  slots[NGX_HTTP_EPRO_SLOTS];
} ngx_http_epro_metrics_t;


static ngx_int_t ngx_http_epro_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_epro_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_epro_ids_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_epro_class(u_char c);
static ngx_uint_t ngx_http_epro_alive(ngx_atomic_uint_t pid);


static ngx_http_epro_metrics_t  *ngx_http_epro_metrics;
static ngx_http_epro_slot_t     *ngx_http_epro_slot;


const ngx_str_t  ngx_http_epro_results[NGX_HTTP_EPRO_NRESULTS] = {
    ngx_string("none"),
    ngx_string("created"),
    ngx_string("bad_json"),
    ngx_string("contract"),
    ngx_string("instrument"),
    ngx_string("forbidden"),
    ngx_string("rejected_by_database"),
    ngx_string("too_large"),
    ngx_string("unsupported_type"),
    ngx_string("method"),
    ngx_string("unavailable"),
    ngx_string("timeout"),
    ngx_string("client_gone"),
    ngx_string("refused"),
    ngx_string("error")
};


static const char  *ngx_http_epro_states[NGX_HTTP_EPRO_NSTATES] = {
    "down", "connecting", "preparing", "idle", "busy"
};


static ngx_http_variable_t  ngx_http_epro_vars[] = {

    { ngx_string("epro_result"), NULL, ngx_http_epro_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_rows"), NULL, ngx_http_epro_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_duplicates"), NULL, ngx_http_epro_variable,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_batch_rows"), NULL, ngx_http_epro_variable,
      3, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_commit_ms"), NULL, ngx_http_epro_variable,
      4, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("epro_ids"), NULL, ngx_http_epro_ids_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_epro_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_epro_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * One zone for the whole configuration.  A reload keeps it (same name and
 * size), so counters run on across reloads; a restart starts them at 0.
 */

ngx_int_t
ngx_http_epro_add_zone(ngx_conf_t *cf)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, "epro_metrics");

    shm_zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_EPRO_ZONE_SIZE,
                                     &ngx_http_epro_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_epro_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_epro_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        shm_zone->data = data;
        ngx_http_epro_metrics = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        ngx_http_epro_metrics = shpool->data;
        return NGX_OK;
    }

    ngx_http_epro_metrics = ngx_slab_calloc(shpool,
                                            sizeof(ngx_http_epro_metrics_t));
    if (ngx_http_epro_metrics == NULL) {
        return NGX_ERROR;
    }

    shpool->data = ngx_http_epro_metrics;
    shm_zone->data = ngx_http_epro_metrics;

    return NGX_OK;
}


void
ngx_http_epro_count_result(ngx_uint_t result)
{
    if (ngx_http_epro_metrics && result < NGX_HTTP_EPRO_NRESULTS) {
        (void) ngx_atomic_fetch_add(
                   &ngx_http_epro_metrics->requests[result], 1);
    }
}


void
ngx_http_epro_count_batch(ngx_uint_t rows, ngx_uint_t inserted,
    ngx_msec_t ms)
{
    ngx_uint_t                i;
    ngx_http_epro_metrics_t  *m;

    m = ngx_http_epro_metrics;

    if (m == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&m->batches, 1);
    (void) ngx_atomic_fetch_add(&m->accepted, inserted);
    (void) ngx_atomic_fetch_add(&m->duplicates, rows - inserted);

    for (i = 0; i < NGX_HTTP_EPRO_ROWS_BUCKETS; i++) {
        if (rows <= ngx_http_epro_rows_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->batch_rows[i], 1);
    (void) ngx_atomic_fetch_add(&m->batch_rows_sum, rows);

    for (i = 0; i < NGX_HTTP_EPRO_MS_BUCKETS; i++) {
        if (ms <= ngx_http_epro_ms_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->commit_ms[i], 1);
    (void) ngx_atomic_fetch_add(&m->commit_ms_sum, ms);
}


void
ngx_http_epro_claim_slot(void)
{
    ngx_uint_t               i;
    ngx_atomic_uint_t        pid;
    ngx_http_epro_slot_t    *slot;

    if (ngx_http_epro_metrics == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_EPRO_SLOTS; i++) {
        slot = &ngx_http_epro_metrics->slots[i];
        pid = slot->pid;

        if ((pid == 0 || !ngx_http_epro_alive(pid))
            && ngx_atomic_cmp_set(&slot->pid, pid, (ngx_atomic_uint_t) ngx_pid))
        {
            slot->queued_rows = 0;
            slot->queue_bytes = 0;
            slot->waiting = 0;
            ngx_memzero((void *) slot->conns, sizeof(slot->conns));
            ngx_http_epro_slot = slot;
            return;
        }
    }
}


void
ngx_http_epro_release_slot(void)
{
    if (ngx_http_epro_slot) {
        ngx_http_epro_slot->pid = 0;
        ngx_http_epro_slot = NULL;
    }
}


static ngx_uint_t
ngx_http_epro_alive(ngx_atomic_uint_t pid)
{
    return kill((ngx_pid_t) pid, 0) == 0 || ngx_errno == NGX_EPERM;
}


void
ngx_http_epro_count_queue(ngx_int_t delta)
{
    if (ngx_http_epro_slot) {
        (void) ngx_atomic_fetch_add(&ngx_http_epro_slot->queued_rows, delta);
    }
}


void
ngx_http_epro_count_room(ngx_int_t bytes, ngx_int_t waiting)
{
    if (ngx_http_epro_slot) {
        (void) ngx_atomic_fetch_add(&ngx_http_epro_slot->queue_bytes, bytes);
        (void) ngx_atomic_fetch_add(&ngx_http_epro_slot->waiting, waiting);
    }
}


void
ngx_http_epro_count_state(ngx_int_t from, ngx_int_t to)
{
    if (ngx_http_epro_slot == NULL) {
        return;
    }

    if (from >= 0) {
        (void) ngx_atomic_fetch_add(&ngx_http_epro_slot->conns[from], -1);
    }

    if (to >= 0) {
        (void) ngx_atomic_fetch_add(&ngx_http_epro_slot->conns[to], 1);
    }
}


void
ngx_http_epro_count_db_error(const char *sqlstate)
{
    ngx_int_t  hi, lo;

    if (ngx_http_epro_metrics == NULL) {
        return;
    }

    hi = ngx_http_epro_class((u_char) sqlstate[0]);
    lo = ngx_http_epro_class((u_char) sqlstate[1]);

    if (hi >= 0 && lo >= 0) {
        (void) ngx_atomic_fetch_add(
                   &ngx_http_epro_metrics->db_errors[hi * 36 + lo], 1);
    }
}


static ngx_int_t
ngx_http_epro_class(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }

    return -1;
}


char *
ngx_http_epro_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_epro_status_handler;

    return NGX_CONF_OK;
}


#define ngx_http_epro_print(...)                                            \
    p = ngx_slprintf(p, last, __VA_ARGS__)


static ngx_int_t
ngx_http_epro_status_handler(ngx_http_request_t *r)
{
    u_char                   *p, *last;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_uint_t                i, k, n, cum;
    ngx_chain_t               out;
    ngx_atomic_int_t          queued, bytes, waiting;
    ngx_atomic_int_t          conns[NGX_HTTP_EPRO_NSTATES];
    ngx_table_elt_t          *h;
    ngx_http_epro_slot_t     *slot;
    ngx_http_epro_metrics_t  *m;

    static const char  digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");

        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    m = ngx_http_epro_metrics;

    if (m == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    n = 16384;

    for (i = 0; i < NGX_HTTP_EPRO_CLASSES; i++) {
        n += m->db_errors[i] ? 64 : 0;
    }

    b = ngx_create_temp_buf(r->pool, n);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;
    last = b->end;

    ngx_http_epro_print(
        "# HELP epro_requests_total Requests to epro_submit locations "
        "by result.\n"
        "# TYPE epro_requests_total counter\n");

    for (i = 1; i < NGX_HTTP_EPRO_NRESULTS; i++) {
        ngx_http_epro_print("epro_requests_total{result=\"%V\"} %uA\n",
                            &ngx_http_epro_results[i], m->requests[i]);
    }

    ngx_http_epro_print(
        "# HELP epro_submissions_accepted_total Rows committed.\n"
        "# TYPE epro_submissions_accepted_total counter\n"
        "epro_submissions_accepted_total %uA\n"
        "# HELP epro_submissions_duplicate_total Submissions whose id "
        "was already stored.\n"
        "# TYPE epro_submissions_duplicate_total counter\n"
        "epro_submissions_duplicate_total %uA\n"
        "# HELP epro_batches_total Batches committed.\n"
        "# TYPE epro_batches_total counter\n"
        "epro_batches_total %uA\n",
        m->accepted, m->duplicates, m->batches);

    ngx_http_epro_print(
        "# HELP epro_batch_rows Rows per committed batch.\n"
        "# TYPE epro_batch_rows histogram\n");

    for (i = 0, cum = 0; i <= NGX_HTTP_EPRO_ROWS_BUCKETS; i++) {
        cum += m->batch_rows[i];

        if (i < NGX_HTTP_EPRO_ROWS_BUCKETS) {
            ngx_http_epro_print("epro_batch_rows_bucket{le=\"%ui\"} %ui\n",
                                ngx_http_epro_rows_buckets[i], cum);

        } else {
            ngx_http_epro_print("epro_batch_rows_bucket{le=\"+Inf\"} %ui\n"
                                "epro_batch_rows_sum %uA\n"
                                "epro_batch_rows_count %ui\n",
                                cum, m->batch_rows_sum, cum);
        }
    }

    ngx_http_epro_print(
        "# HELP epro_commit_seconds Time from sending a batch to its "
        "commit.\n"
        "# TYPE epro_commit_seconds histogram\n");

    for (i = 0, cum = 0; i <= NGX_HTTP_EPRO_MS_BUCKETS; i++) {
        cum += m->commit_ms[i];

        if (i < NGX_HTTP_EPRO_MS_BUCKETS) {
            ngx_http_epro_print("epro_commit_seconds_bucket{le=\"%ui.%03ui\"}"
                                " %ui\n",
                                ngx_http_epro_ms_buckets[i] / 1000,
                                ngx_http_epro_ms_buckets[i] % 1000, cum);

        } else {
            ngx_http_epro_print("epro_commit_seconds_bucket{le=\"+Inf\"} %ui\n"
                                "epro_commit_seconds_sum %uA.%03uA\n"
                                "epro_commit_seconds_count %ui\n",
                                cum, m->commit_ms_sum / 1000,
                                m->commit_ms_sum % 1000, cum);
        }
    }

    ngx_memzero(conns, sizeof(conns));
    queued = 0;
    bytes = 0;
    waiting = 0;

    for (i = 0; i < NGX_HTTP_EPRO_SLOTS; i++) {
        slot = &m->slots[i];

        if (slot->pid == 0 || !ngx_http_epro_alive(slot->pid)) {
            continue;
        }

        queued += (ngx_atomic_int_t) slot->queued_rows;
        bytes += (ngx_atomic_int_t) slot->queue_bytes;
        waiting += (ngx_atomic_int_t) slot->waiting;

        for (k = 0; k < NGX_HTTP_EPRO_NSTATES; k++) {
            conns[k] += (ngx_atomic_int_t) slot->conns[k];
        }
    }

    ngx_http_epro_print(
        "# HELP epro_queued_rows Rows waiting for a connection, all "
        "workers.\n"
        "# TYPE epro_queued_rows gauge\n"
        "epro_queued_rows %A\n"
        "# HELP epro_queue_bytes Bytes of rows in batches, sent or not, "
        "and of bodies let in to be read (epro_queue_max_bytes), all "
        "workers.\n"
        "# TYPE epro_queue_bytes gauge\n"
        "epro_queue_bytes %A\n"
        "# HELP epro_waiting_requests Requests waiting for room in the "
        "queue, their bodies unread, all workers.\n"
        "# TYPE epro_waiting_requests gauge\n"
        "epro_waiting_requests %A\n"
        "# HELP epro_connections Database connections by state, all "
        "workers.\n"
        "# TYPE epro_connections gauge\n",
        queued, bytes, waiting);

    for (i = 0; i < NGX_HTTP_EPRO_NSTATES; i++) {
        ngx_http_epro_print("epro_connections{state=\"%s\"} %A\n",
                            ngx_http_epro_states[i], conns[i]);
    }

    ngx_http_epro_print(
        "# HELP epro_db_errors_total Database errors by SQLSTATE class.\n"
        "# TYPE epro_db_errors_total counter\n");

    for (i = 0; i < NGX_HTTP_EPRO_CLASSES; i++) {
        if (m->db_errors[i]) {
            ngx_http_epro_print("epro_db_errors_total{class=\"%c%c\"} %uA\n",
                                digits[i / 36], digits[i % 36],
                                m->db_errors[i]);
        }
    }

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_epro_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    u_char               *p;
    ngx_uint_t            n;
    ngx_http_epro_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_epro_module);

    if (ctx == NULL || (data != 0 && ctx->result != NGX_HTTP_EPRO_CREATED)) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 0) {
        v->data = ngx_http_epro_results[ctx->result].data;
        v->len = ngx_http_epro_results[ctx->result].len;

    } else {
        n = (data == 1) ? ctx->accepted
            : (data == 2) ? ctx->req.nsubs - ctx->accepted
            : (data == 3) ? ctx->waiter.batch_rows
            : ctx->waiter.commit_ms;

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
ngx_http_epro_ids_variable(ngx_http_request_t *r,
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
