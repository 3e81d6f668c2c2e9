
/*
 * ngx_http_epro_module: counters shared by all workers, in a shared
 * memory zone of atomic counters.  Plain nginx core types: the database
 * side counts through this header without seeing a request.
 */


#ifndef _NGX_HTTP_EPRO_METRICS_H_INCLUDED_
#define _NGX_HTTP_EPRO_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_epro.h"


/* request outcomes, for $epro_result and epro_requests_total */
enum {
    NGX_HTTP_EPRO_NONE = 0,
    NGX_HTTP_EPRO_CREATED,
    NGX_HTTP_EPRO_BAD_JSON,
    NGX_HTTP_EPRO_CONTRACT,
    NGX_HTTP_EPRO_INSTRUMENT,
    NGX_HTTP_EPRO_FORBIDDEN,
    NGX_HTTP_EPRO_REJECTED,
    NGX_HTTP_EPRO_TOO_LARGE,
    NGX_HTTP_EPRO_UNSUPPORTED,
    NGX_HTTP_EPRO_METHOD,
    NGX_HTTP_EPRO_UNAVAILABLE,
    NGX_HTTP_EPRO_TIMEOUT,
    NGX_HTTP_EPRO_CLIENT_GONE,
    NGX_HTTP_EPRO_REFUSED,
    NGX_HTTP_EPRO_ERROR,
    NGX_HTTP_EPRO_NRESULTS
};

/* a FHIR Bundle's entries: rows queued, repeats of an earlier entry's
 * identifier, refused (a batch's 4xx entries) */
enum {
    NGX_HTTP_EPRO_ENTRY_QUEUED = 0,
    NGX_HTTP_EPRO_ENTRY_REPEATED,
    NGX_HTTP_EPRO_ENTRY_REFUSED,
    NGX_HTTP_EPRO_NENTRY
};

/* connection states, in the order of ngx_http_epro_pg_state_e (checked
 * there at compile time) */
#define NGX_HTTP_EPRO_NSTATES       5

/* SQLSTATE classes: two characters of [0-9A-Z] */
#define NGX_HTTP_EPRO_CLASSES       (36 * 36)

#define NGX_HTTP_EPRO_SLOTS         64
#define NGX_HTTP_EPRO_ROWS_BUCKETS  10
#define NGX_HTTP_EPRO_MS_BUCKETS    12


/*
 * Gauges are kept per worker process, in a slot it claims at start: a
 * worker that dies cannot take its share back, so a scrape sums only the
 * slots of live processes, and a new worker may reuse a dead one's slot.
 */

typedef struct {
    ngx_atomic_t               queued_rows;
    ngx_atomic_t               queue_bytes;
    ngx_atomic_t               waiting;
    ngx_atomic_t               conns[NGX_HTTP_EPRO_NSTATES];
} ngx_http_epro_metrics_gauge_t;


typedef struct {
    ngx_atomic_t                   pid;
    ngx_http_epro_metrics_gauge_t  dbs[NGX_HTTP_EPRO_MAX_DBS];
} ngx_http_epro_metrics_slot_t;


/* a database's counters, found again by its name after a reload */
typedef struct {
    u_char                     name[NGX_HTTP_EPRO_DB_NAME_LEN];
    size_t                     len;
    ngx_uint_t                 stamp;      /* the zone's gen when a
                                              configuration last named
                                              it; 0: never */
    ngx_atomic_t               requests[NGX_HTTP_EPRO_NRESULTS];
    ngx_atomic_t               accepted;
    ngx_atomic_t               duplicates;
    ngx_atomic_t               batches;
    ngx_atomic_t               batch_rows[NGX_HTTP_EPRO_ROWS_BUCKETS + 1];
    ngx_atomic_t               batch_rows_sum;
    ngx_atomic_t               commit_ms[NGX_HTTP_EPRO_MS_BUCKETS + 1];
    ngx_atomic_t               commit_ms_sum;
    ngx_atomic_t               db_errors[NGX_HTTP_EPRO_CLASSES];
    ngx_atomic_t               reads[2];   /* FHIR reads: found, not */
    ngx_atomic_t               lookups;    /* their SELECTs */
    ngx_atomic_t               lookup_ids;
    /* FHIR Bundles answered 200, by type; their entries, by outcome */
    ngx_atomic_t               bundles[2];
    ngx_atomic_t               entries[NGX_HTTP_EPRO_NENTRY];
} ngx_http_epro_metrics_db_t;


typedef struct {
    ngx_http_epro_metrics_db_t    dbs[NGX_HTTP_EPRO_MAX_DBS];
    ngx_http_epro_metrics_slot_t  slots[NGX_HTTP_EPRO_SLOTS];
    ngx_uint_t                    live;  /* the blocks the running
                                            configuration names */
    ngx_uint_t                    gen;   /* configurations run */
} ngx_http_epro_metrics_t;


/* the gauges summed over the slots of live workers */
typedef struct {
    ngx_atomic_int_t           queued_rows;
    ngx_atomic_int_t           queue_bytes;
    ngx_atomic_int_t           waiting;
    ngx_atomic_int_t           conns[NGX_HTTP_EPRO_NSTATES];
} ngx_http_epro_metrics_gauges_t;


/* the names of the results, and the histograms' upper bounds */
extern const ngx_str_t   ngx_http_epro_metrics_results[];
extern const ngx_uint_t  ngx_http_epro_metrics_rows_buckets[];
extern const ngx_msec_t  ngx_http_epro_metrics_ms_buckets[];


/* "db" below is a database's index, ngx_http_epro_db_t.index */

ngx_shm_zone_t *ngx_http_epro_metrics_add_zone(ngx_conf_t *cf, void *tag);
void ngx_http_epro_metrics_commit(ngx_http_epro_main_conf_t *emcf);
ngx_http_epro_metrics_db_t *ngx_http_epro_metrics_get(ngx_uint_t db);
void ngx_http_epro_metrics_gauges(ngx_uint_t db,
    ngx_http_epro_metrics_gauges_t *g);

void ngx_http_epro_metrics_claim_slot(void);
void ngx_http_epro_metrics_release_slot(void);

void ngx_http_epro_metrics_result(ngx_uint_t db, ngx_uint_t result);
void ngx_http_epro_metrics_bundle(ngx_uint_t db, ngx_uint_t batch,
    ngx_uint_t queued, ngx_uint_t repeated, ngx_uint_t refused);
void ngx_http_epro_metrics_batch(ngx_uint_t db, ngx_uint_t rows,
    ngx_uint_t inserted, ngx_msec_t ms);
void ngx_http_epro_metrics_queue(ngx_uint_t db, ngx_int_t delta);
void ngx_http_epro_metrics_room(ngx_uint_t db, ngx_int_t bytes,
    ngx_int_t waiting);
void ngx_http_epro_metrics_state(ngx_uint_t db, ngx_int_t from,
    ngx_int_t to);
void ngx_http_epro_metrics_db_error(ngx_uint_t db, const char *sqlstate);
void ngx_http_epro_metrics_read(ngx_uint_t db, ngx_uint_t found);
void ngx_http_epro_metrics_lookup(ngx_uint_t db, ngx_uint_t ids);


#endif /* _NGX_HTTP_EPRO_METRICS_H_INCLUDED_ */
