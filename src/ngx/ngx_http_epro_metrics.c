
/*
 * Metrics shared by all workers: a shared memory zone of atomic counters
 * that the request path, the queue and the pool count into, and that the
 * epro_status handler reads.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_epro_metrics.h"


/* the counters and the slab allocator's own pages */
#define NGX_HTTP_EPRO_ZONE_SIZE                                              \
    ngx_align(sizeof(ngx_http_epro_metrics_t) + 64 * 1024, 4096)


static ngx_int_t ngx_http_epro_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_epro_metrics_map(ngx_http_epro_metrics_t *m,
    ngx_array_t *databases);
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
 * size), so counters run on across reloads, each database's under its
 * name; a restart starts them at 0.
 *
 * The zone is written only once the new configuration runs (from the
 * module's init_module, which nginx calls after the listening sockets
 * are open, where a reload can no longer fail): a reload that fails
 * leaves the running configuration's counters and names as they were.
 */

ngx_shm_zone_t *
ngx_http_epro_metrics_add_zone(ngx_conf_t *cf, void *tag)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, "epro_metrics");

    shm_zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_EPRO_ZONE_SIZE,
                                     tag);
    if (shm_zone == NULL) {
        return NULL;
    }

    shm_zone->init = ngx_http_epro_metrics_init_zone;

    return shm_zone;
}


static ngx_int_t
ngx_http_epro_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    shpool->data = ngx_slab_calloc(shpool, sizeof(ngx_http_epro_metrics_t));
    if (shpool->data == NULL) {
        return NGX_ERROR;
    }

    shm_zone->data = shpool->data;

    return NGX_OK;
}


/*
 * The configuration runs (emcf NULL, or its zone: it has none): each
 * database gets its block, the one of its name, else a free one, its counters
 * reset.  A process without a master (a debugging mode, where a reload
 * is not supported) forgets its gauge slot with the zone it was in.
 */

void
ngx_http_epro_metrics_commit(ngx_http_epro_main_conf_t *emcf)
{
    ngx_http_epro_metrics_t  *m;

    m = (emcf && emcf->zone) ? emcf->zone->data : NULL;

    if (m != ngx_http_epro_metrics) {
        ngx_http_epro_metrics_slot = NULL;
    }

    ngx_http_epro_metrics = m;

    if (m != NULL) {
        m->live = ngx_http_epro_metrics_map(m, &emcf->databases);
    }
}


/*
 * A database new to the zone takes a block neither this configuration
 * nor the one running before it names, if there is one (the old workers
 * still count there while they finish), and of those the one named
 * longest ago: a name that comes back finds its counters unless 16
 * others took the blocks since.  There are never more databases than
 * blocks (checked when they are read).
 */

static ngx_uint_t
ngx_http_epro_metrics_map(ngx_http_epro_metrics_t *m,
    ngx_array_t *databases)
{
    ngx_uint_t                   i, k, n, best, taken, busy;
    ngx_http_epro_db_t         **dbs;
    ngx_http_epro_metrics_db_t  *md;

    dbs = databases->elts;
    n = databases->nelts;
    taken = 0;

    for (i = 0; i < n; i++) {
        dbs[i]->index = NGX_HTTP_EPRO_MAX_DBS;

        for (k = 0; k < NGX_HTTP_EPRO_MAX_DBS; k++) {
            md = &m->dbs[k];

            if (md->len == dbs[i]->name.len
                && ngx_strncmp(md->name, dbs[i]->name.data, md->len) == 0)
            {
                dbs[i]->index = k;
                taken |= (ngx_uint_t) 1 << k;
                break;
            }
        }
    }

    for (i = 0; i < n; i++) {
        if (dbs[i]->index != NGX_HTTP_EPRO_MAX_DBS) {
            continue;
        }

        busy = taken | m->live;

        if (busy == ((ngx_uint_t) 1 << NGX_HTTP_EPRO_MAX_DBS) - 1) {
            busy = taken;
        }

        /* of the free blocks, the one named longest ago (0: never) */

        best = NGX_HTTP_EPRO_MAX_DBS;

        for (k = 0; k < NGX_HTTP_EPRO_MAX_DBS; k++) {
            if (!(busy & ((ngx_uint_t) 1 << k))
                && (best == NGX_HTTP_EPRO_MAX_DBS
                    || m->dbs[k].stamp < m->dbs[best].stamp))
            {
                best = k;
            }
        }

        md = &m->dbs[best];
        ngx_memzero(md, sizeof(ngx_http_epro_metrics_db_t));
        md->len = dbs[i]->name.len;
        ngx_memcpy(md->name, dbs[i]->name.data, md->len);

        dbs[i]->index = best;
        taken |= (ngx_uint_t) 1 << best;
    }

    /* the blocks this configuration names are the newest */

    m->gen++;

    for (k = 0; k < NGX_HTTP_EPRO_MAX_DBS; k++) {
        if (taken & ((ngx_uint_t) 1 << k)) {
            m->dbs[k].stamp = m->gen;
        }
    }

    return taken;
}


/* a database's counters, or NULL when the zone is not there */

ngx_http_epro_metrics_db_t *
ngx_http_epro_metrics_get(ngx_uint_t db)
{
    if (ngx_http_epro_metrics == NULL || db >= NGX_HTTP_EPRO_MAX_DBS) {
        return NULL;
    }

    return &ngx_http_epro_metrics->dbs[db];
}


void
ngx_http_epro_metrics_gauges(ngx_uint_t db,
    ngx_http_epro_metrics_gauges_t *g)
{
    ngx_uint_t                      i, k;
    ngx_http_epro_metrics_slot_t   *slot;
    ngx_http_epro_metrics_gauge_t  *gauge;

    ngx_memzero(g, sizeof(ngx_http_epro_metrics_gauges_t));

    if (ngx_http_epro_metrics == NULL || db >= NGX_HTTP_EPRO_MAX_DBS) {
        return;
    }

    for (i = 0; i < NGX_HTTP_EPRO_SLOTS; i++) {
        slot = &ngx_http_epro_metrics->slots[i];

        if (slot->pid == 0 || !ngx_http_epro_metrics_alive(slot->pid)) {
            continue;
        }

        gauge = &slot->dbs[db];

        g->queued_rows += (ngx_atomic_int_t) gauge->queued_rows;
        g->queue_bytes += (ngx_atomic_int_t) gauge->queue_bytes;
        g->waiting += (ngx_atomic_int_t) gauge->waiting;

        for (k = 0; k < NGX_HTTP_EPRO_NSTATES; k++) {
            g->conns[k] += (ngx_atomic_int_t) gauge->conns[k];
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
            ngx_memzero((void *) slot->dbs, sizeof(slot->dbs));
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
ngx_http_epro_metrics_result(ngx_uint_t db, ngx_uint_t result)
{
    ngx_http_epro_metrics_db_t  *m;

    m = ngx_http_epro_metrics_get(db);

    if (m && result < NGX_HTTP_EPRO_NRESULTS) {
        (void) ngx_atomic_fetch_add(&m->requests[result], 1);
    }
}


void
ngx_http_epro_metrics_bundle(ngx_uint_t db, ngx_uint_t batch,
    ngx_uint_t queued, ngx_uint_t repeated, ngx_uint_t refused)
{
    ngx_http_epro_metrics_db_t  *m;

    m = ngx_http_epro_metrics_get(db);

    if (m == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&m->bundles[batch ? 1 : 0], 1);
    (void) ngx_atomic_fetch_add(&m->entries[NGX_HTTP_EPRO_ENTRY_QUEUED],
                                queued);
    (void) ngx_atomic_fetch_add(&m->entries[NGX_HTTP_EPRO_ENTRY_REPEATED],
                                repeated);
    (void) ngx_atomic_fetch_add(&m->entries[NGX_HTTP_EPRO_ENTRY_REFUSED],
                                refused);
}


void
ngx_http_epro_metrics_batch(ngx_uint_t db, ngx_uint_t rows,
    ngx_uint_t inserted, ngx_msec_t ms)
{
    ngx_uint_t                   i;
    ngx_http_epro_metrics_db_t  *m;

    m = ngx_http_epro_metrics_get(db);

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
ngx_http_epro_metrics_queue(ngx_uint_t db, ngx_int_t delta)
{
    if (ngx_http_epro_metrics_slot && db < NGX_HTTP_EPRO_MAX_DBS) {
        (void) ngx_atomic_fetch_add(
                   &ngx_http_epro_metrics_slot->dbs[db].queued_rows, delta);
    }
}


void
ngx_http_epro_metrics_room(ngx_uint_t db, ngx_int_t bytes, ngx_int_t waiting)
{
    ngx_http_epro_metrics_gauge_t  *gauge;

    if (ngx_http_epro_metrics_slot && db < NGX_HTTP_EPRO_MAX_DBS) {
        gauge = &ngx_http_epro_metrics_slot->dbs[db];

        (void) ngx_atomic_fetch_add(&gauge->queue_bytes, bytes);
        (void) ngx_atomic_fetch_add(&gauge->waiting, waiting);
    }
}


void
ngx_http_epro_metrics_state(ngx_uint_t db, ngx_int_t from, ngx_int_t to)
{
    ngx_http_epro_metrics_gauge_t  *gauge;

    if (ngx_http_epro_metrics_slot == NULL || db >= NGX_HTTP_EPRO_MAX_DBS) {
        return;
    }

    gauge = &ngx_http_epro_metrics_slot->dbs[db];

    if (from >= 0) {
        (void) ngx_atomic_fetch_add(&gauge->conns[from], -1);
    }

    if (to >= 0) {
        (void) ngx_atomic_fetch_add(&gauge->conns[to], 1);
    }
}


void
ngx_http_epro_metrics_db_error(ngx_uint_t db, const char *sqlstate)
{
    ngx_int_t                    hi, lo;
    ngx_http_epro_metrics_db_t  *m;

    m = ngx_http_epro_metrics_get(db);

    if (m == NULL) {
        return;
    }

    hi = ngx_http_epro_metrics_class((u_char) sqlstate[0]);
    lo = ngx_http_epro_metrics_class((u_char) sqlstate[1]);

    if (hi >= 0 && lo >= 0) {
        (void) ngx_atomic_fetch_add(&m->db_errors[hi * 36 + lo], 1);
    }
}



/* a read by id answered: found (200 or 304) or not (404) */

void
ngx_http_epro_metrics_read(ngx_uint_t db, ngx_uint_t found)
{
    ngx_http_epro_metrics_db_t  *m;

    m = ngx_http_epro_metrics_get(db);

    if (m) {
        (void) ngx_atomic_fetch_add(&m->reads[found ? 0 : 1], 1);
    }
}


/* a SELECT sent for a group of ids: fewer SELECTs than reads is grouping */

void
ngx_http_epro_metrics_lookup(ngx_uint_t db, ngx_uint_t ids)
{
    ngx_http_epro_metrics_db_t  *m;

    m = ngx_http_epro_metrics_get(db);

    if (m) {
        (void) ngx_atomic_fetch_add(&m->lookups, 1);
        (void) ngx_atomic_fetch_add(&m->lookup_ids, ids);
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
