
/*
 * Metrics shared by all workers: a shared memory zone of atomic counters
 * that the request path, the queue and the pool count into, and that the
 * epro_status handler reads.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_epro_metrics.h"


#define NGX_HTTP_EPRO_ZONE_SIZE  (128 * 1024)


static ngx_int_t ngx_http_epro_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_epro_metrics_alive(ngx_atomic_uint_t pid);
static ngx_int_t ngx_http_epro_metrics_class(u_char c);


const ngx_str_t  ngx_http_epro_metrics_results[NGX_HTTP_EPRO_NRESULTS] = {
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


const ngx_uint_t  ngx_http_epro_metrics_rows_buckets[
                      NGX_HTTP_EPRO_ROWS_BUCKETS] =
{
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000
};


const ngx_msec_t  ngx_http_epro_metrics_ms_buckets[
                      NGX_HTTP_EPRO_MS_BUCKETS] =
{
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


static ngx_http_epro_metrics_t       *ngx_http_epro_metrics;
static ngx_http_epro_metrics_slot_t  *ngx_http_epro_metrics_slot;


/*
 * One zone for the whole configuration.  A reload keeps it (same name and
 * size), so counters run on across reloads; a restart starts them at 0.
 */

ngx_int_t
ngx_http_epro_metrics_add_zone(ngx_conf_t *cf, void *tag)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, "epro_metrics");

    shm_zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_EPRO_ZONE_SIZE,
                                     tag);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_epro_metrics_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_epro_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
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


/* the zone, or NULL when neither epro_submit nor epro_status is used */

ngx_http_epro_metrics_t *
ngx_http_epro_metrics_get(void)
{
    return ngx_http_epro_metrics;
}


void
ngx_http_epro_metrics_gauges(ngx_http_epro_metrics_gauges_t *g)
{
    ngx_uint_t                     i, k;
    ngx_http_epro_metrics_slot_t  *slot;

    ngx_memzero(g, sizeof(ngx_http_epro_metrics_gauges_t));

    if (ngx_http_epro_metrics == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_EPRO_SLOTS; i++) {
        slot = &ngx_http_epro_metrics->slots[i];

        if (slot->pid == 0 || !ngx_http_epro_metrics_alive(slot->pid)) {
            continue;
        }

        g->queued_rows += (ngx_atomic_int_t) slot->queued_rows;
        g->queue_bytes += (ngx_atomic_int_t) slot->queue_bytes;
        g->waiting += (ngx_atomic_int_t) slot->waiting;

        for (k = 0; k < NGX_HTTP_EPRO_NSTATES; k++) {
            g->conns[k] += (ngx_atomic_int_t) slot->conns[k];
        }
    }
}


void
ngx_http_epro_metrics_claim_slot(void)
{
    ngx_uint_t                     i;
    ngx_atomic_uint_t              pid;
    ngx_http_epro_metrics_slot_t  *slot;

    if (ngx_http_epro_metrics == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_EPRO_SLOTS; i++) {
        slot = &ngx_http_epro_metrics->slots[i];
        pid = slot->pid;

        if ((pid == 0 || !ngx_http_epro_metrics_alive(pid))
            && ngx_atomic_cmp_set(&slot->pid, pid, (ngx_atomic_uint_t) ngx_pid))
        {
            slot->queued_rows = 0;
            slot->queue_bytes = 0;
            slot->waiting = 0;
            ngx_memzero((void *) slot->conns, sizeof(slot->conns));
            ngx_http_epro_metrics_slot = slot;
            return;
        }
    }
}


void
ngx_http_epro_metrics_release_slot(void)
{
    if (ngx_http_epro_metrics_slot) {
        ngx_http_epro_metrics_slot->pid = 0;
        ngx_http_epro_metrics_slot = NULL;
    }
}


static ngx_uint_t
ngx_http_epro_metrics_alive(ngx_atomic_uint_t pid)
{
    return kill((ngx_pid_t) pid, 0) == 0 || ngx_errno == NGX_EPERM;
}


void
ngx_http_epro_metrics_result(ngx_uint_t result)
{
    if (ngx_http_epro_metrics && result < NGX_HTTP_EPRO_NRESULTS) {
        (void) ngx_atomic_fetch_add(
                   &ngx_http_epro_metrics->requests[result], 1);
    }
}


void
ngx_http_epro_metrics_batch(ngx_uint_t rows, ngx_uint_t inserted,
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
        if (rows <= ngx_http_epro_metrics_rows_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->batch_rows[i], 1);
    (void) ngx_atomic_fetch_add(&m->batch_rows_sum, rows);

    for (i = 0; i < NGX_HTTP_EPRO_MS_BUCKETS; i++) {
        if (ms <= ngx_http_epro_metrics_ms_buckets[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&m->commit_ms[i], 1);
    (void) ngx_atomic_fetch_add(&m->commit_ms_sum, ms);
}


void
ngx_http_epro_metrics_queue(ngx_int_t delta)
{
    if (ngx_http_epro_metrics_slot) {
        (void) ngx_atomic_fetch_add(&ngx_http_epro_metrics_slot->queued_rows,
                                    delta);
    }
}


void
ngx_http_epro_metrics_room(ngx_int_t bytes, ngx_int_t waiting)
{
    ngx_http_epro_metrics_slot_t  *slot;

    slot = ngx_http_epro_metrics_slot;

    if (slot) {
        (void) ngx_atomic_fetch_add(&slot->queue_bytes, bytes);
        (void) ngx_atomic_fetch_add(&slot->waiting, waiting);
    }
}


void
ngx_http_epro_metrics_state(ngx_int_t from, ngx_int_t to)
{
    ngx_http_epro_metrics_slot_t  *slot;

    slot = ngx_http_epro_metrics_slot;

    if (slot == NULL) {
        return;
    }

    if (from >= 0) {
        (void) ngx_atomic_fetch_add(&slot->conns[from], -1);
    }

    if (to >= 0) {
        (void) ngx_atomic_fetch_add(&slot->conns[to], 1);
    }
}


void
ngx_http_epro_metrics_db_error(const char *sqlstate)
{
    ngx_int_t  hi, lo;

    if (ngx_http_epro_metrics == NULL) {
        return;
    }

    hi = ngx_http_epro_metrics_class((u_char) sqlstate[0]);
    lo = ngx_http_epro_metrics_class((u_char) sqlstate[1]);

    if (hi >= 0 && lo >= 0) {
        (void) ngx_atomic_fetch_add(
                   &ngx_http_epro_metrics->db_errors[hi * 36 + lo], 1);
    }
}


static ngx_int_t
ngx_http_epro_metrics_class(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }

    return -1;
}
