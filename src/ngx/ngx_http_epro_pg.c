
/*
 * The database side's connections: per worker and database, a pool of
 * non-blocking libpq connections driven by nginx events.  A batch's rows
 * are sent to an idle connection as one set-based INSERT, and the outcome
 * goes back to the owner through the done() callback it set; ready()
 * tells it a connection became idle.  A lookup (the reads by id of a
 * FHIR location, grouped by the queue) is one SELECT ... WHERE
 * submission_id = ANY($1::uuid[]) on an idle connection too, outside any
 * transaction; its rows go back through found(), pointing into the
 * result, which is cleared once found() returns.  The only file that
 * includes libpq-fe.h; it never sees a request.
 *
 * Batches and lookups share the connections.  The pool takes whichever
 * it is given; the queue (ngx_http_epro_queue_dispatch) chooses, and
 * alternates: a connection that becomes idle goes to a lookup group if
 * the last one it dispatched was a batch and lookups wait, to a ready
 * batch otherwise; so a stream of batches never starves reads nor reads
 * batches, and a lookup never waits behind batches still filling (their
 * epro_batch_max_delay) nor behind a full batch queue.
 *
 * Each table's INSERT (and SELECT, if a FHIR location reads it) is
 * prepared once per connection (prepared) or sent unnamed with each
 * batch or lookup (unnamed): behind a transaction pooler
 * such as PgBouncer each transaction may run on another server
 * connection, so nothing may outlive one.  An unnamed batch is one
 * pipeline up to a single Sync, hence one implicit transaction on one
 * server connection: set_config() makes the statement_timeout local to
 * it, then the INSERT.
 *
 * Each connection is a state machine, driven by ngx_http_epro_pg_handler()
 * (socket events: one switch on the state) and two timers:
 *
 *   state       event                          next        action
 *   ---------   ----------------------------   ---------   ----------------
 *   down        retry timer (backoff)          connecting  PQconnectStart-
 *                                                          Params, deadline
 *   connecting  socket ready, polling          connecting  PQconnectPoll
 *   connecting  PGRES_POLLING_OK, prepared     preparing   SET; PREPARE
 *   connecting  PGRES_POLLING_OK, unnamed      idle        pipeline mode,
 *                                                          ready()
 *   preparing   ReadyForQuery, no error        idle        ready()
 *   idle        ngx_http_epro_pg_send()        busy        deadline;
 *                                                          prepared: PQsend-
 *                                                          QueryPrepared;
 *                                                          unnamed, one
 *                                                          pipeline:
 *                                                          set_config(),
 *                                                          PQsendQueryParams
 *                                                          PQpipelineSync
 *   idle        ngx_http_epro_pg_lookup()      busy        the same, with
 *                                                          the SELECT;
 *                                                          marked a lookup
 *   busy        ReadyForQuery, lookup, rows    idle        found(OK, rows),
 *                                                          ready()
 *   busy        ReadyForQuery, lookup, error   idle        found(ERROR),
 *                                                          ready()
 *   busy        server WARNING                 busy        marked, logged
 *   busy        ReadyForQuery, committed       idle        done(committed),
 *                                                          ready()
 *   busy        ReadyForQuery, committed,      idle        done(unknown),
 *               marked                                     ready()
 *   busy        ReadyForQuery, rolled back     idle        done(refused or
 *                                                          failed), ready()
 *   idle        server notice, stray result    idle        logged
 *   any         error, EOF, deadline timer     down        close; done(
 *                                                          unknown) if busy
 *                                                          with a batch,
 *                                                          found(ERROR) if
 *                                                          with a lookup;
 *                                                          retry timer
 *
 * A lookup is busy, not a state of its own: epro_status publishes the
 * five states above (dashboards and t/015 read them), and a connection
 * in use is busy whatever it runs; pc->lookup says which callback ends it.
 *
 * ReadyForQuery is, in pipeline mode, the PGRES_PIPELINE_SYNC result.
 * The deadline timer is epro_pg_timeout: for connecting and preparing
 * together, and for a batch's commit or a lookup (those keep an exiting
 * worker until it fires or they are answered).  The retry timer waits the
 * backoff, 0 the first time, then from 0.1 s doubling up to 1 s, reset
 * once a connection is ready.  Each state change is a debug line.
 *
 * A WARNING while a batch runs makes its commit's outcome unknown even
 * if the server reports success: when statement_timeout (or a cancel)
 * ends COMMIT's wait for a synchronous standby, PostgreSQL commits
 * locally and says only "canceling wait for synchronous replication"
 * (WARNING, SQLSTATE 01000), so the rows may not be on the standby that
 * a failover would promote.  Such a batch gets 504, whose retry with the
 * same ids is safe, never 201; the connection stays in use.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <libpq-fe.h>

#include "epro_core.h"
#include "ngx_http_epro.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_pg.h"


#define NGX_HTTP_EPRO_STMT         "epro_insert"
#define NGX_HTTP_EPRO_READ_STMT    "epro_read"
#define NGX_HTTP_EPRO_BACKOFF_MIN  100
#define NGX_HTTP_EPRO_BACKOFF_MAX  1000


/* in the order of ngx_http_epro_pg_state_names[]: the metrics count
 * connections so */
typedef enum {
    ngx_http_epro_pg_down = 0,
    ngx_http_epro_pg_connecting,
    ngx_http_epro_pg_preparing,
    ngx_http_epro_pg_idle,
    ngx_http_epro_pg_busy,
    ngx_http_epro_pg_nstates
} ngx_http_epro_pg_state_e;


/* a compile-time check: the metrics' arrays have a slot per state */
typedef char  ngx_http_epro_pg_nstates_check_t
    [(ngx_http_epro_pg_nstates == NGX_HTTP_EPRO_NSTATES) ? 1 : -1];


typedef struct {
    ngx_http_epro_pg_t          *pg;
    PGconn                      *conn;
    ngx_connection_t            *c;         /* over PQsocket(), not down */
    ngx_http_epro_pg_state_e     state;
    epro_rows_t                 *rows;      /* busy: the batch's rows */
    void                        *data;      /* busy: the batch, for done(),
                                               or the lookup, for found() */
    ngx_uint_t                   nids;      /* busy, lookup: ids asked */
    ngx_http_epro_pg_row_t      *found;     /* given to found() */
    ngx_uint_t                   found_size;
    PGresult                    *result;    /* busy: the INSERT's, kept
                                               until ReadyForQuery */
    u_char                      *inserted;  /* per row, given to done() */
    size_t                       inserted_size;
    char                         sqlstate[6];   /* of the last error */
    ngx_uint_t                   index;
    ngx_uint_t                   skip;      /* busy: results before the
                                               INSERT's (set_config) */
    ngx_msec_t                   backoff;   /* the next retry's delay */
    ngx_msec_t                   sent;
    ngx_event_t                  retry;     /* down: reconnect */
    ngx_event_t                  deadline;  /* connecting and preparing,
                                               or busy */
    ngx_log_t                    log;

    /* an error result came for the statement now running */
    unsigned                     failed:1;
    /* it was ready once: later readies are logged at notice, not info */
    unsigned                     was_up:1;
    /* its failure was logged: one line per outage, until ready again */
    unsigned                     reported:1;
    /* busy: the server sent a WARNING, the commit may not be durable */
    unsigned                     warned:1;
    /* busy with a lookup, not a batch */
    unsigned                     lookup:1;
    /* busy: an error libpq raised itself (no SQLSTATE from the server,
       as out of memory for a result): the server may still commit */
    unsigned                     local:1;
} ngx_http_epro_pg_conn_t;


struct ngx_http_epro_pg_s {
    ngx_http_epro_db_t          *conf;
    ngx_http_epro_pg_conn_t     *conns;
    ngx_uint_t                   nconns;
    ngx_http_epro_pg_done_pt     done;
    ngx_http_epro_pg_found_pt    found;
    ngx_http_epro_pg_ready_pt    ready;
    void                        *ctx;       /* for ready() */
    ngx_log_t                    log;
    epro_alloc_t                 heap;
    u_char                       timeout_sql[96];   /* unnamed: set_config,
                                                       NUL-terminated */
};


static void ngx_http_epro_pg_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_on_connecting(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_on_preparing(ngx_http_epro_pg_conn_t *pc,
    ngx_event_t *ev);
static void ngx_http_epro_pg_on_idle(ngx_http_epro_pg_conn_t *pc,
    ngx_event_t *ev);
static void ngx_http_epro_pg_on_busy(ngx_http_epro_pg_conn_t *pc,
    ngx_event_t *ev);
static void ngx_http_epro_pg_retry_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_deadline_handler(ngx_event_t *ev);
static void ngx_http_epro_pg_connect(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_connected(ngx_http_epro_pg_conn_t *pc);
static ngx_int_t ngx_http_epro_pg_read(ngx_http_epro_pg_conn_t *pc,
    ngx_event_t *ev);
static ngx_int_t ngx_http_epro_pg_flush(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_result(ngx_http_epro_pg_conn_t *pc,
    PGresult *res);
static void ngx_http_epro_pg_prepared(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_rolled_back(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_committed(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_looked_up(ngx_http_epro_pg_conn_t *pc);
static ngx_http_epro_pg_conn_t *ngx_http_epro_pg_take(ngx_http_epro_pg_t *pg,
    const char *what);
static void ngx_http_epro_pg_begin(ngx_http_epro_pg_conn_t *pc, void *data,
    char *action);
static void ngx_http_epro_pg_query(ngx_http_epro_pg_conn_t *pc, u_char *stmt,
    u_char *sql, int n, const char **values, const int *lengths,
    const int *formats);
static ngx_int_t ngx_http_epro_pg_read_sql(ngx_conf_t *cf,
    ngx_http_epro_table_t *t, ngx_uint_t i);
static void ngx_http_epro_pg_fail(ngx_http_epro_pg_conn_t *pc,
    const char *what);
static void ngx_http_epro_pg_close(ngx_http_epro_pg_conn_t *pc);
static ngx_int_t ngx_http_epro_pg_watch(ngx_http_epro_pg_conn_t *pc,
    ngx_int_t event);
static void ngx_http_epro_pg_unwatch(ngx_http_epro_pg_conn_t *pc);
static void ngx_http_epro_pg_state(ngx_http_epro_pg_conn_t *pc,
    ngx_http_epro_pg_state_e state);
static ngx_uint_t ngx_http_epro_pg_row_error(const char *sqlstate);
static const char *ngx_http_epro_pg_hint(const char *sqlstate);
static void ngx_http_epro_pg_notice(void *arg, const PGresult *res);
static const char *ngx_http_epro_pg_error(ngx_http_epro_pg_conn_t *pc);
static void *ngx_http_epro_pg_alloc(void *ctx, size_t size);
static void ngx_http_epro_pg_free(void *ctx, void *p);


/* the one list of the states' names: debug lines and epro_status */
const char  *ngx_http_epro_pg_state_names[] = {
    "down", "connecting", "preparing", "idle", "busy"
};

typedef char  ngx_http_epro_pg_names_check_t
    [(sizeof(ngx_http_epro_pg_state_names)
      / sizeof(ngx_http_epro_pg_state_names[0]) == ngx_http_epro_pg_nstates)
     ? 1 : -1];


/*
 * The rows of a batch arrive as one array per column, unnested WITH
 * ORDINALITY straight into the INSERT: the function scan already gives
 * the rows in their order, so nothing sorts or keeps them a second time.
 * A row is inserted if it is the first of its id in the batch and the id
 * was new; the result names the others, the duplicates, found again from
 * the ids alone, so that the usual answer is no row at all (nothing for
 * libpq to build).
 */

static const char  ngx_http_epro_pg_setup_fmt[] =
    "SET statement_timeout = %M";

static const char  ngx_http_epro_pg_prepare_fmt[] = "; PREPARE %s AS %V";

/* unnamed: for the batch's transaction only, as SET LOCAL would be */
static const char  ngx_http_epro_pg_timeout_fmt[] =
    "SELECT pg_catalog.set_config('statement_timeout', '%M', true)%Z";

/*
 * The INSERT in pieces: after each, the extra columns of epro_column, if
 * any (their names in the table, in u, their arrays, then in u again).
 */

static const char  ngx_http_epro_pg_sql_insert[] =
    "WITH ins AS (INSERT INTO %V (submission_id, study_id, site_id, "
    "subject_id, visit_name, instrument, collected_at, received_at, answers, "
    "payload, client_addr, fhir_status, score";

static const char  ngx_http_epro_pg_sql_select[] =
    ") "
    "SELECT submission_id, study_id, site_id, subject_id, visit_name, "
    "instrument, collected_at, received_at, "
    "coalesce(answers, payload::jsonb -> 'answers'), "
    "payload, client_addr, fhir_status, score";

static const char  ngx_http_epro_pg_sql_unnest[] =
    " FROM unnest($1::uuid[], $2::text[], $3::text[], "
    "$4::text[], $5::text[], $6::text[], $7::timestamptz[], "
    "$8::timestamptz[], $9::text[], $10::inet[], $11::jsonb[], "
    "$12::text[], $13::numeric[]";

static const char  ngx_http_epro_pg_sql_u[] =
    ") WITH ORDINALITY "
    "AS u(submission_id, study_id, site_id, subject_id, visit_name, "
    "instrument, collected_at, received_at, payload, client_addr, answers, "
    "fhir_status, score";

static const char  ngx_http_epro_pg_sql_end[] =
    ", n) ORDER BY n "
    "ON CONFLICT (submission_id) DO NOTHING RETURNING submission_id), "
    "i AS (SELECT * FROM unnest($1::uuid[]) WITH ORDINALITY "
    "AS i(submission_id, n)) "
    "SELECT n FROM i EXCEPT "
    "SELECT min(i.n) FROM ins JOIN i USING (submission_id) "
    "GROUP BY submission_id";

/*
 * The read by id of a FHIR location: a primary-key lookup of a group of
 * ids, outside any transaction; native rows (fhir_status NULL) are not
 * FHIR resources.  received_at as Unix ms, from which the glue writes
 * the same RFC 3339 text the create answered with.
 */

static const char  ngx_http_epro_pg_sql_read[] =
    "SELECT submission_id, payload, "
    "(extract(epoch FROM received_at) * 1000)::bigint, "
    "subject_id, study_id, site_id FROM %V "
    "WHERE submission_id = ANY($1::uuid[]) AND fhir_status IS NOT NULL%Z";

/* an extra column: its array, its name in u, its name in the table */
static const char  ngx_http_epro_pg_sql_param_fmt[] = ", $%ui::text[]";
static const char  ngx_http_epro_pg_sql_alias_fmt[] = ", epro_c%ui";
static const char  ngx_http_epro_pg_sql_column_fmt[] = ", %V";


/*
 * The INSERT of each table the database's locations use, and, prepared,
 * the statements a connection runs once: every table's INSERT is prepared
 * at connect, in the same round trip, so that sending a batch is the same
 * one call whatever its table.  The first table's keeps the name it had
 * when there was only one.
 */

ngx_int_t
ngx_http_epro_pg_sql(ngx_conf_t *cf, ngx_http_epro_db_t *db)
{
    u_char                  *p;
    size_t                   size, len;
    ngx_uint_t               i, k;
    ngx_http_epro_table_t  **tables, *t;

    tables = db->tables.elts;
    size = sizeof(ngx_http_epro_pg_setup_fmt) + NGX_INT_T_LEN;

    for (i = 0; i < db->tables.nelts; i++) {
        t = tables[i];

        if (i == 0) {
            ngx_sprintf(t->stmt, NGX_HTTP_EPRO_STMT "%Z");

        } else {
            ngx_sprintf(t->stmt, NGX_HTTP_EPRO_STMT "_%ui%Z", i);
        }

        len = sizeof(ngx_http_epro_pg_sql_unnest)
              + sizeof(ngx_http_epro_pg_sql_u)
              + sizeof(ngx_http_epro_pg_sql_insert) + t->name.len
              + sizeof(ngx_http_epro_pg_sql_select)
              + sizeof(ngx_http_epro_pg_sql_end);

        for (k = 0; k < t->ncolumns; k++) {
            len += sizeof(ngx_http_epro_pg_sql_param_fmt)
                   + 2 * sizeof(ngx_http_epro_pg_sql_alias_fmt)
                   + sizeof(ngx_http_epro_pg_sql_column_fmt)
                   + 3 * NGX_INT_T_LEN + t->columns[k].len;
        }

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        t->sql.data = p;
        p = ngx_sprintf(p, ngx_http_epro_pg_sql_insert, &t->name);

        for (k = 0; k < t->ncolumns; k++) {
            p = ngx_sprintf(p, ngx_http_epro_pg_sql_column_fmt,
                            &t->columns[k]);
        }

        p = ngx_cpymem(p, ngx_http_epro_pg_sql_select,
                       sizeof(ngx_http_epro_pg_sql_select) - 1);

        for (k = 0; k < t->ncolumns; k++) {
            p = ngx_sprintf(p, ngx_http_epro_pg_sql_alias_fmt, k + 1);
        }

        p = ngx_cpymem(p, ngx_http_epro_pg_sql_unnest,
                       sizeof(ngx_http_epro_pg_sql_unnest) - 1);

        for (k = 0; k < t->ncolumns; k++) {
            p = ngx_sprintf(p, ngx_http_epro_pg_sql_param_fmt,
                            EPRO_NCOLS + k + 1);
        }

        p = ngx_cpymem(p, ngx_http_epro_pg_sql_u,
                       sizeof(ngx_http_epro_pg_sql_u) - 1);

        for (k = 0; k < t->ncolumns; k++) {
            p = ngx_sprintf(p, ngx_http_epro_pg_sql_alias_fmt, k + 1);
        }

        p = ngx_cpymem(p, ngx_http_epro_pg_sql_end,
                       sizeof(ngx_http_epro_pg_sql_end) - 1);
        *p = '\0';
        t->sql.len = p - t->sql.data;

        size += sizeof(ngx_http_epro_pg_prepare_fmt) + sizeof(t->stmt)
                + t->sql.len;

        if (t->reads) {
            if (ngx_http_epro_pg_read_sql(cf, t, i) != NGX_OK) {
                return NGX_ERROR;
            }

            size += sizeof(ngx_http_epro_pg_prepare_fmt)
                    + sizeof(t->read_stmt) + t->read_sql.len;
        }
    }

    if (db->statement != NGX_HTTP_EPRO_PG_PREPARED) {
        return NGX_OK;
    }

    p = ngx_pnalloc(cf->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /*
     * The server gives up on a statement a second after nginx does, so that
     * a batch stuck behind a lock does not outlive its 504 for long.
     */

    db->setup.data = p;
    p = ngx_sprintf(p, ngx_http_epro_pg_setup_fmt, db->timeout + 1000);

    for (i = 0; i < db->tables.nelts; i++) {
        p = ngx_sprintf(p, ngx_http_epro_pg_prepare_fmt, tables[i]->stmt,
                        &tables[i]->sql);

        if (tables[i]->reads) {
            p = ngx_sprintf(p, ngx_http_epro_pg_prepare_fmt,
                            tables[i]->read_stmt, &tables[i]->read_sql);
        }
    }

    *p = '\0';
    db->setup.len = p - db->setup.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_epro_pg_read_sql(ngx_conf_t *cf, ngx_http_epro_table_t *t,
    ngx_uint_t i)
{
    u_char  *p;

    ngx_sprintf(t->read_stmt, NGX_HTTP_EPRO_READ_STMT "_%ui%Z", i);

    p = ngx_pnalloc(cf->pool, sizeof(ngx_http_epro_pg_sql_read)
                              + t->name.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    t->read_sql.data = p;
    t->read_sql.len = ngx_sprintf(p, ngx_http_epro_pg_sql_read, &t->name)
                      - p - 1;

    return NGX_OK;
}


/*
 * The connection string is parsed when the configuration is read, so that
 * a typo fails `nginx -t`.  libpq's message is not repeated: it may quote
 * a piece of the string, and the string may hold a password.
 */

ngx_int_t
ngx_http_epro_pg_check_conninfo(ngx_conf_t *cf, ngx_str_t *conninfo)
{
    char              *err;
    ngx_str_t         *value;
    PQconninfoOption  *opts;

    err = NULL;
    opts = PQconninfoParse((const char *) conninfo->data, &err);

    if (opts == NULL) {
        value = cf->args->elts;

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not a valid libpq "
                           "connection string or URI", &value[0]);
        PQfreemem(err);
        return NGX_ERROR;
    }

    PQconninfoFree(opts);

    return NGX_OK;
}


ngx_http_epro_pg_t *
ngx_http_epro_pg_init_process(ngx_cycle_t *cycle, ngx_http_epro_db_t *db,
    ngx_http_epro_pg_done_pt done, ngx_http_epro_pg_found_pt found,
    ngx_http_epro_pg_ready_pt ready, void *ctx)
{
    ngx_uint_t                i;
    ngx_http_epro_pg_t       *pg;
    ngx_http_epro_pg_conn_t  *pc;

    pg = ngx_pcalloc(cycle->pool, sizeof(ngx_http_epro_pg_t));
    if (pg == NULL) {
        return NULL;
    }

    pg->conf = db;
    pg->done = done;
    pg->found = found;
    pg->ready = ready;
    pg->ctx = ctx;
    pg->log = *cycle->log;
    pg->log.action = NULL;

    if (db->named) {
        pg->log.handler = ngx_http_epro_pg_log_handler;
        pg->log.data = db;
    }

    pg->nconns = db->pool_size;
    pg->heap.alloc = ngx_http_epro_pg_alloc;
    pg->heap.free = ngx_http_epro_pg_free;
    pg->heap.ctx = cycle->log;

    (void) ngx_snprintf(pg->timeout_sql, sizeof(pg->timeout_sql),
                        ngx_http_epro_pg_timeout_fmt, db->timeout + 1000);

    pg->conns = ngx_pcalloc(cycle->pool,
                            pg->nconns * sizeof(ngx_http_epro_pg_conn_t));
    if (pg->conns == NULL) {
        return NULL;
    }

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];

        pc->pg = pg;
        pc->index = i;
        pc->log = pg->log;

        pc->retry.handler = ngx_http_epro_pg_retry_handler;
        pc->retry.log = &pc->log;
        pc->retry.data = pc;
        pc->retry.cancelable = 1;

        pc->deadline.handler = ngx_http_epro_pg_deadline_handler;
        pc->deadline.log = &pc->log;
        pc->deadline.data = pc;

        ngx_http_epro_metrics_state(db->index, -1, ngx_http_epro_pg_down);
        ngx_http_epro_pg_connect(pc);
    }

    return pg;
}


/* a batch in flight is dropped unanswered: its requests are gone too */

void
ngx_http_epro_pg_exit_process(ngx_http_epro_pg_t *pg)
{
    ngx_uint_t                i;
    ngx_http_epro_pg_conn_t  *pc;

    if (pg->conns == NULL) {
        return;
    }

    for (i = 0; i < pg->nconns; i++) {
        pc = &pg->conns[i];

        if (pc->retry.timer_set) {
            ngx_del_timer(&pc->retry);
        }

        if (pc->deadline.timer_set) {
            ngx_del_timer(&pc->deadline);
        }

        ngx_http_epro_pg_close(pc);
        ngx_http_epro_metrics_state(pg->conf->index, pc->state, -1);

        ngx_free(pc->inserted);
        pc->inserted = NULL;

        ngx_free(pc->found);
        pc->found = NULL;
    }

    pg->conns = NULL;
}


/* whether a connection is up: requests may wait for room in the queue */

ngx_uint_t
ngx_http_epro_pg_up(ngx_http_epro_pg_t *pg)
{
    ngx_uint_t  i;

    for (i = 0; i < pg->nconns; i++) {
        if (pg->conns[i].state == ngx_http_epro_pg_idle
            || pg->conns[i].state == ngx_http_epro_pg_busy)
        {
            return 1;
        }
    }

    return 0;
}


/* whether a connection can take a batch now */

ngx_uint_t
ngx_http_epro_pg_has_idle(ngx_http_epro_pg_t *pg)
{
    ngx_uint_t  i;

    for (i = 0; i < pg->nconns; i++) {
        if (pg->conns[i].state == ngx_http_epro_pg_idle) {
            return 1;
        }
    }

    return 0;
}


/*
 * Sends the rows to the first idle connection; done(data, ...) follows,
 * at once if the connection fails now.  The rows stay the caller's and
 * must live until then.
 */

void
ngx_http_epro_pg_send(ngx_http_epro_pg_t *pg, epro_rows_t *rows,
    ngx_http_epro_table_t *table, void *data)
{
    ngx_uint_t                i;
    int                       n, lengths[EPRO_MAX_COLS];
    int                       formats[EPRO_MAX_COLS];
    const char               *values[EPRO_MAX_COLS];
    ngx_http_epro_pg_conn_t  *pc;

    pc = ngx_http_epro_pg_take(pg, "a batch");

    if (pc == NULL) {
        pg->done(data, NGX_HTTP_EPRO_PG_FAILED, "?????", NULL);
        return;
    }

    pc->rows = rows;
    pc->lookup = 0;
    ngx_http_epro_pg_begin(pc, data, "committing a batch");

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &pc->log, 0,
                   "epro: connection %ui: sending %uz row(s)",
                   pc->index, rows->nrows);

    if (epro_rows_finish(rows, &pg->heap) != EPRO_OK) {
        ngx_http_epro_pg_fail(pc, "out of memory");
        return;
    }

    n = EPRO_NCOLS + table->ncolumns;

    /* the text and jsonb columns are binary arrays (see epro_encode.c) */

    for (i = 0; i < (ngx_uint_t) n; i++) {
        values[i] = rows->col[i].data;
        lengths[i] = (int) rows->col[i].len;
        formats[i] = epro_col_oid(i) ? 1 : 0;
    }

    ngx_http_epro_pg_query(pc, table->stmt, table->sql.data, n, values,
                           lengths, formats);
}


/*
 * Sends a lookup of nids ids ("{id,...}", the text of a uuid[]) in the
 * table to the first idle connection; found(data, ...) follows, at once
 * if the connection fails now.  ids must live until then.
 */

void
ngx_http_epro_pg_lookup(ngx_http_epro_pg_t *pg, ngx_http_epro_table_t *table,
    const char *ids, ngx_uint_t nids, void *data)
{
    const char               *values[1];
    ngx_http_epro_pg_conn_t  *pc;

    pc = ngx_http_epro_pg_take(pg, "a lookup");

    if (pc == NULL || table->read_sql.len == 0) {
        pg->found(data, NGX_ERROR, NULL, 0);
        return;
    }

    pc->rows = NULL;
    pc->nids = nids;
    pc->lookup = 1;
    ngx_http_epro_pg_begin(pc, data, "looking up resources");

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &pc->log, 0,
                   "epro: connection %ui: looking up %ui id(s)",
                   pc->index, nids);

    ngx_http_epro_metrics_lookup(pg->conf->index, nids);

    values[0] = ids;

    ngx_http_epro_pg_query(pc, table->read_stmt, table->read_sql.data, 1,
                           values, NULL, NULL);
}


/*
 * A batch or a lookup takes the connection: its request waits for the
 * answer, which keeps an exiting worker until it comes (or the deadline).
 */

static void
ngx_http_epro_pg_begin(ngx_http_epro_pg_conn_t *pc, void *data,
    char *action)
{
    pc->data = data;
    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_busy);
    pc->failed = 0;
    pc->warned = 0;
    pc->local = 0;
    pc->sqlstate[0] = '\0';
    pc->sent = ngx_current_msec;
    pc->log.action = action;

    pc->deadline.cancelable = 0;
    ngx_add_timer(&pc->deadline, pc->pg->conf->timeout);
}


/*
 * Sends the statement with its n values (of the given lengths and
 * formats; NULL: all text): prepared, or unnamed after the
 * statement_timeout of this transaction in one pipeline (skip: the
 * SELECT's result comes first).
 */

static void
ngx_http_epro_pg_query(ngx_http_epro_pg_conn_t *pc, u_char *stmt,
    u_char *sql, int n, const char **values, const int *lengths,
    const int *formats)
{
    ngx_http_epro_pg_t  *pg;

    pg = pc->pg;

    if (pg->conf->statement == NGX_HTTP_EPRO_PG_PREPARED) {
        pc->skip = 0;

        if (!PQsendQueryPrepared(pc->conn, (const char *) stmt, n, values,
                                 lengths, formats, 0))
        {
            ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
            return;
        }

    } else {
        pc->skip = 1;

        if (!PQsendQueryParams(pc->conn, (const char *) pg->timeout_sql,
                               0, NULL, NULL, NULL, NULL, 0)
            || !PQsendQueryParams(pc->conn, (const char *) sql, n, NULL,
                                  values, lengths, formats, 0)
            || !PQpipelineSync(pc->conn))
        {
            ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
            return;
        }
    }

    (void) ngx_http_epro_pg_flush(pc);
}


/* the first idle connection, for a batch or a lookup */

static ngx_http_epro_pg_conn_t *
ngx_http_epro_pg_take(ngx_http_epro_pg_t *pg, const char *what)
{
    ngx_uint_t  i;

    for (i = 0; i < pg->nconns; i++) {
        if (pg->conns[i].state == ngx_http_epro_pg_idle) {
            return &pg->conns[i];
        }
    }

    ngx_log_error(NGX_LOG_ALERT, &pg->log, 0,
                  "epro: %s was sent with no connection idle", what);

    return NULL;
}


/* the socket's events, by state */

static void
ngx_http_epro_pg_handler(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_epro_pg_conn_t  *pc;

    c = ev->data;
    pc = c->data;

    switch (pc->state) {

    case ngx_http_epro_pg_connecting:
        ngx_http_epro_pg_on_connecting(pc);
        return;

    case ngx_http_epro_pg_preparing:
        ngx_http_epro_pg_on_preparing(pc, ev);
        return;

    case ngx_http_epro_pg_idle:
        ngx_http_epro_pg_on_idle(pc, ev);
        return;

    case ngx_http_epro_pg_busy:
        ngx_http_epro_pg_on_busy(pc, ev);
        return;

    default:
        /* down: there is no socket */
        return;
    }
}


/*
 * While connecting, libpq may close its socket and open another (several
 * hosts, SSL retries), possibly with the same number.  So the socket is
 * taken out of the event set before each PQconnectPoll(), while it is
 * still open, and the current one is put back after.
 */

static void
ngx_http_epro_pg_on_connecting(ngx_http_epro_pg_conn_t *pc)
{
    ngx_http_epro_pg_unwatch(pc);

    switch (PQconnectPoll(pc->conn)) {

    case PGRES_POLLING_OK:
        ngx_http_epro_pg_connected(pc);
        return;

    case PGRES_POLLING_READING:
        pc->c->fd = PQsocket(pc->conn);

        if (ngx_http_epro_pg_watch(pc, NGX_READ_EVENT) != NGX_OK) {
            ngx_http_epro_pg_fail(pc, "cannot watch the socket");
        }

        return;

    case PGRES_POLLING_WRITING:
        pc->c->fd = PQsocket(pc->conn);

        if (ngx_http_epro_pg_watch(pc, NGX_WRITE_EVENT) != NGX_OK) {
            ngx_http_epro_pg_fail(pc, "cannot watch the socket");
        }

        return;

    default:
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }
}


/* the SET and PREPARE run; ReadyForQuery ends them */

static void
ngx_http_epro_pg_on_preparing(ngx_http_epro_pg_conn_t *pc, ngx_event_t *ev)
{
    if (ngx_http_epro_pg_read(pc, ev) == NGX_OK) {
        ngx_http_epro_pg_prepared(pc);
    }
}


/* nothing runs: notices, or the server closing the connection */

static void
ngx_http_epro_pg_on_idle(ngx_http_epro_pg_conn_t *pc, ngx_event_t *ev)
{
    (void) ngx_http_epro_pg_read(pc, ev);
}


/*
 * A batch runs.  PQgetResult() returned NULL: the server sent
 * ReadyForQuery.  Only now is the implicit transaction committed: in the
 * extended protocol the INSERT's rows and CommandComplete arrive before
 * the commit at Sync, and an error at commit would come after them.
 */

static void
ngx_http_epro_pg_on_busy(ngx_http_epro_pg_conn_t *pc, ngx_event_t *ev)
{
    if (ngx_http_epro_pg_read(pc, ev) != NGX_OK) {
        return;
    }

    if (PQstatus(pc->conn) != CONNECTION_OK
        || PQtransactionStatus(pc->conn) != PQTRANS_IDLE)
    {
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return;
    }

    if (pc->lookup) {
        ngx_http_epro_pg_looked_up(pc);
        return;
    }

    if (pc->failed || pc->result == NULL) {
        ngx_http_epro_pg_rolled_back(pc);
        return;
    }

    ngx_http_epro_pg_committed(pc);
}


static void
ngx_http_epro_pg_retry_handler(ngx_event_t *ev)
{
    ngx_http_epro_pg_conn_t  *pc;

    pc = ev->data;

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_http_epro_pg_connect(pc);
    }
}


static void
ngx_http_epro_pg_deadline_handler(ngx_event_t *ev)
{
    ngx_http_epro_pg_conn_t  *pc;

    pc = ev->data;

    if (pc->state == ngx_http_epro_pg_busy) {
        ngx_http_epro_pg_fail(pc, pc->lookup
                                  ? "a lookup was not answered in time"
                                  : "the commit was not confirmed in time");
        return;
    }

    /* connecting or preparing */
    ngx_http_epro_pg_fail(pc, "timed out");
}


static void
ngx_http_epro_pg_connect(ngx_http_epro_pg_conn_t *pc)
{
    ngx_http_epro_pg_t  *pg;

    static const char *const  keys[] = {
        "fallback_application_name", "dbname", "client_encoding", NULL
    };

    const char *values[] = {
        "nginx-epro", NULL, "UTF8", NULL
    };

    pg = pc->pg;

    values[1] = (const char *) pg->conf->conninfo.data;

    pc->log.action = "connecting to PostgreSQL";
    pc->failed = 0;

    pc->conn = PQconnectStartParams(keys, values, 1);

    if (pc->conn == NULL) {
        ngx_http_epro_pg_fail(pc, "out of memory");
        return;
    }

    if (PQstatus(pc->conn) == CONNECTION_BAD) {
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }

    pc->c = ngx_get_connection(PQsocket(pc->conn), &pc->log);
    if (pc->c == NULL) {
        ngx_http_epro_pg_fail(pc, "no free nginx connection");
        return;
    }

    pc->c->data = pc;
    pc->c->log = &pc->log;
    pc->c->read->log = &pc->log;
    pc->c->write->log = &pc->log;
    pc->c->read->handler = ngx_http_epro_pg_handler;
    pc->c->write->handler = ngx_http_epro_pg_handler;

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_connecting);

    pc->deadline.cancelable = 1;
    ngx_add_timer(&pc->deadline, pg->conf->timeout);

    /* as libpq documents: wait until the socket is writable, then poll */

    if (ngx_http_epro_pg_watch(pc, NGX_WRITE_EVENT) != NGX_OK) {
        ngx_http_epro_pg_fail(pc, "cannot watch the socket");
    }
}


static void
ngx_http_epro_pg_connected(ngx_http_epro_pg_conn_t *pc)
{
    ngx_http_epro_pg_t  *pg;

    pg = pc->pg;

    pc->c->fd = PQsocket(pc->conn);

    if (PQsetnonblocking(pc->conn, 1) != 0) {
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }

    PQsetNoticeReceiver(pc->conn, ngx_http_epro_pg_notice, pc);
    PQsetErrorVerbosity(pc->conn, PQERRORS_TERSE);

    if (ngx_http_epro_pg_watch(pc, NGX_READ_EVENT) != NGX_OK) {
        ngx_http_epro_pg_fail(pc, "cannot watch the socket");
        return;
    }

    if (pg->conf->statement == NGX_HTTP_EPRO_PG_UNNAMED) {
        /* nothing lives on the server connection: ready at once */

        if (!PQenterPipelineMode(pc->conn)) {
            ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
            return;
        }

        ngx_http_epro_pg_prepared(pc);
        return;
    }

    pc->log.action = "preparing the INSERT";
    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_preparing);

    if (!PQsendQuery(pc->conn, (const char *) pg->conf->setup.data)) {
        ngx_http_epro_pg_fail(pc, PQerrorMessage(pc->conn));
        return;
    }

    (void) ngx_http_epro_pg_flush(pc);
}


/*
 * Sends what libpq holds and reads what came.  NGX_OK: ReadyForQuery,
 * the statement is over (or, idle, nothing runs); NGX_AGAIN: more to
 * come; NGX_ERROR: the connection failed.  In pipeline mode a NULL only
 * ends one query's results: a batch is over at the Sync's result.
 */

static ngx_int_t
ngx_http_epro_pg_read(ngx_http_epro_pg_conn_t *pc, ngx_event_t *ev)
{
    PGresult  *res;

    if (ev->write) {
        return (ngx_http_epro_pg_flush(pc) == NGX_ERROR)
               ? NGX_ERROR : NGX_AGAIN;
    }

    if (!PQconsumeInput(pc->conn)) {
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return NGX_ERROR;
    }

    /* libpq may need to read before it can send the rest */

    if (pc->c->write->active) {
        switch (ngx_http_epro_pg_flush(pc)) {
        case NGX_OK:
            break;
        case NGX_AGAIN:
            return NGX_AGAIN;
        default:
            return NGX_ERROR;
        }
    }

    while (!PQisBusy(pc->conn)) {
        res = PQgetResult(pc->conn);

        if (res == NULL) {
            /* a lost connection ends the batch: the caller sees it */
            if (pc->state == ngx_http_epro_pg_busy
                && PQpipelineStatus(pc->conn) != PQ_PIPELINE_OFF
                && PQstatus(pc->conn) == CONNECTION_OK)
            {
                continue;
            }

            return NGX_OK;
        }

        if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return NGX_OK;
        }

        ngx_http_epro_pg_result(pc, res);
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_epro_pg_flush(ngx_http_epro_pg_conn_t *pc)
{
    switch (PQflush(pc->conn)) {

    case 0:
        if (pc->c->write->active) {
            if (ngx_del_event(pc->c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
                ngx_http_epro_pg_fail(pc, "cannot watch the socket");
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case 1:
        if (!pc->c->write->active
            && ngx_http_epro_pg_watch(pc, NGX_WRITE_EVENT) != NGX_OK)
        {
            ngx_http_epro_pg_fail(pc, "cannot watch the socket");
            return NGX_ERROR;
        }

        return NGX_AGAIN;

    default:
        ngx_http_epro_pg_fail(pc, ngx_http_epro_pg_error(pc));
        return NGX_ERROR;
    }
}


static void
ngx_http_epro_pg_result(ngx_http_epro_pg_conn_t *pc, PGresult *res)
{
    char            *field;
    ExecStatusType   status;

    status = PQresultStatus(res);

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (pc->state == ngx_http_epro_pg_busy && pc->skip) {
            pc->skip--;
            PQclear(res);
            return;
        }

        if (pc->state == ngx_http_epro_pg_busy && pc->result == NULL) {
            pc->result = res;
            return;
        }

        PQclear(res);
        return;
    }

    pc->failed = 1;

    if (status == PGRES_PIPELINE_ABORTED) {
        /* skipped after an error of the same batch, logged already */
        PQclear(res);
        return;
    }

    field = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    ngx_cpystrn((u_char *) pc->sqlstate,
                (u_char *) (field ? field : "?????"), sizeof(pc->sqlstate));

    if (field == NULL) {
        pc->local = 1;
    }

    ngx_http_epro_metrics_db_error(pc->pg->conf->index, pc->sqlstate);

    if (pc->state == ngx_http_epro_pg_preparing) {
        /* our own statement: the message names only the schema */
        field = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: cannot prepare the INSERT: "
                      "%s (SQLSTATE %s)%s", pc->index,
                      field ? field : "unknown error", pc->sqlstate,
                      ngx_http_epro_pg_hint(pc->sqlstate));

    } else if (pc->lookup) {
        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: lookup of %ui id(s) failed, "
                      "SQLSTATE %s", pc->index, pc->nids, pc->sqlstate);

    } else {
        /* the message may quote row values: patient data stays out */
        field = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: batch of %uz row(s) failed, "
                      "SQLSTATE %s%s%s%s", pc->index,
                      pc->rows ? pc->rows->nrows : 0, pc->sqlstate,
                      field ? ", constraint " : "", field ? field : "",
                      ngx_http_epro_pg_hint(pc->sqlstate));
    }

    PQclear(res);
}



/* the INSERT is prepared: the connection takes batches */

static void
ngx_http_epro_pg_prepared(ngx_http_epro_pg_conn_t *pc)
{
    ngx_uint_t  level;

    if (pc->failed) {
        ngx_http_epro_pg_fail(pc, NULL);
        return;
    }

    if (pc->deadline.timer_set) {
        ngx_del_timer(&pc->deadline);
    }

    if (!pc->was_up || pc->reported) {
        level = pc->reported ? NGX_LOG_NOTICE : NGX_LOG_INFO;

        ngx_log_error(level, &pc->log, 0,
                      "epro: connection %ui: ready (server %s:%s)",
                      pc->index, PQhost(pc->conn), PQport(pc->conn));
    }

    pc->was_up = 1;
    pc->reported = 0;
    pc->backoff = 0;
    pc->log.action = NULL;
    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);

    pc->pg->ready(pc->pg->ctx);
}


/*
 * The batch ended in an error and the transaction is idle: PostgreSQL
 * rolled it back, nothing is stored, if the error was the server's.  An
 * error libpq raised itself, or none at all, says nothing of the commit
 * (the server went on to the Sync): outcome unknown.
 */

static void
ngx_http_epro_pg_rolled_back(ngx_http_epro_pg_conn_t *pc)
{
    void                        *data;
    ngx_http_epro_pg_outcome_e   outcome;

    data = pc->data;

    if (pc->local || pc->sqlstate[0] == '\0') {
        outcome = NGX_HTTP_EPRO_PG_UNKNOWN;

    } else if (ngx_http_epro_pg_row_error(pc->sqlstate)) {
        outcome = NGX_HTTP_EPRO_PG_REFUSED;

    } else {
        outcome = NGX_HTTP_EPRO_PG_FAILED;
    }

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
    }

    pc->rows = NULL;
    pc->data = NULL;
    pc->failed = 0;
    pc->warned = 0;
    pc->local = 0;
    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);
    pc->log.action = NULL;

    if (pc->deadline.timer_set) {
        ngx_del_timer(&pc->deadline);
    }

    pc->pg->done(data, outcome, pc->sqlstate, NULL);
    pc->pg->ready(pc->pg->ctx);
}


/*
 * The rows not inserted (duplicates) are the ordinals the result holds.
 * After a WARNING the commit is reported unknown (see the top).
 */

static void
ngx_http_epro_pg_committed(ngx_http_epro_pg_conn_t *pc)
{
    int                          i, n, row;
    void                        *data;
    PGresult                    *res;
    epro_rows_t                 *rows;
    ngx_uint_t                   warned;
    ngx_http_epro_pg_outcome_e   outcome;

    rows = pc->rows;
    data = pc->data;
    res = pc->result;

    if (pc->inserted_size < rows->nrows) {
        ngx_free(pc->inserted);

        pc->inserted = ngx_alloc(rows->nrows, &pc->log);
        if (pc->inserted == NULL) {
            pc->inserted_size = 0;
            PQclear(res);
            pc->result = NULL;
            ngx_http_epro_pg_fail(pc, "out of memory");
            return;
        }

        pc->inserted_size = rows->nrows;
    }

    ngx_memset(pc->inserted, 1, rows->nrows);

    n = (int) rows->nrows;

    for (i = 0; i < PQntuples(res); i++) {
        row = ngx_atoi((u_char *) PQgetvalue(res, i, 0),
                       PQgetlength(res, i, 0));

        if (row >= 1 && (size_t) row <= rows->nrows && pc->inserted[row - 1])
        {
            pc->inserted[row - 1] = 0;
            n--;
        }
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, &pc->log, 0,
                   "epro: connection %ui: committed %d of %uz row(s) "
                   "in %M ms", pc->index, n, rows->nrows,
                   ngx_current_msec - pc->sent);

    PQclear(res);
    pc->result = NULL;
    pc->rows = NULL;
    pc->data = NULL;

    ngx_http_epro_metrics_batch(pc->pg->conf->index, rows->nrows, n,
                                ngx_current_msec - pc->sent);

    if (pc->deadline.timer_set) {
        ngx_del_timer(&pc->deadline);
    }

    warned = pc->warned;
    pc->warned = 0;
    outcome = NGX_HTTP_EPRO_PG_COMMITTED;

    if (warned) {
        ngx_log_error(NGX_LOG_NOTICE, &pc->log, 0,
                      "epro: connection %ui: a batch of %uz row(s) was "
                      "committed after a WARNING (a synchronous standby "
                      "may not have it): answered as outcome unknown",
                      pc->index, rows->nrows);

        outcome = NGX_HTTP_EPRO_PG_UNKNOWN;
    }

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);
    pc->log.action = NULL;

    pc->pg->done(data, outcome, NULL, warned ? NULL : pc->inserted);
    pc->pg->ready(pc->pg->ctx);
}


/*
 * A lookup's rows, given to found() as pointers into the result, which
 * is cleared after: found() copies what it keeps.  Any error: nothing is
 * known, found(ERROR).
 */

static void
ngx_http_epro_pg_looked_up(ngx_http_epro_pg_conn_t *pc)
{
    int                      i, n;
    void                    *data;
    PGresult                *res;
    ngx_int_t                rc;
    ngx_http_epro_pg_row_t  *row;

    data = pc->data;
    res = pc->result;
    n = 0;
    rc = NGX_ERROR;

    if (!pc->failed && res != NULL && PQnfields(res) == 6) {
        n = PQntuples(res);
        rc = NGX_OK;
    }

    if ((ngx_uint_t) n > pc->found_size) {
        ngx_free(pc->found);

        pc->found = ngx_alloc(n * sizeof(ngx_http_epro_pg_row_t), &pc->log);
        if (pc->found == NULL) {
            pc->found_size = 0;
            ngx_http_epro_pg_fail(pc, "out of memory");
            return;
        }

        pc->found_size = n;
    }

    for (i = 0; i < n; i++) {
        row = &pc->found[i];

        row->id.data = (u_char *) PQgetvalue(res, i, 0);
        row->id.len = PQgetlength(res, i, 0);
        row->payload.data = (u_char *) PQgetvalue(res, i, 1);
        row->payload.len = PQgetlength(res, i, 1);
        row->received_ms.data = (u_char *) PQgetvalue(res, i, 2);
        row->received_ms.len = PQgetlength(res, i, 2);
        row->subject.data = (u_char *) PQgetvalue(res, i, 3);
        row->subject.len = PQgetlength(res, i, 3);
        row->study.data = (u_char *) PQgetvalue(res, i, 4);
        row->study.len = PQgetlength(res, i, 4);
        row->site.data = (u_char *) PQgetvalue(res, i, 5);
        row->site.len = PQgetlength(res, i, 5);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, &pc->log, 0,
                   "epro: connection %ui: %d of %ui id(s) found in %M ms",
                   pc->index, n, pc->nids, ngx_current_msec - pc->sent);

    pc->result = NULL;
    pc->rows = NULL;
    pc->data = NULL;
    pc->failed = 0;
    pc->warned = 0;
    pc->lookup = 0;

    if (pc->deadline.timer_set) {
        ngx_del_timer(&pc->deadline);
    }

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_idle);
    pc->log.action = NULL;

    pc->pg->found(data, rc, pc->found, (ngx_uint_t) n);

    if (res) {
        PQclear(res);
    }

    pc->pg->ready(pc->pg->ctx);
}


/*
 * The connection is dropped; a batch in flight may or may not have been
 * committed, so its requests get 504 and may retry with the same ids.
 */

static void
ngx_http_epro_pg_fail(ngx_http_epro_pg_conn_t *pc, const char *what)
{
    u_char      *p, *last, text[512];
    void        *data;
    ngx_uint_t   lookup;
    ngx_msec_t   delay;
    const char  *line;

    if (!pc->reported) {
        /*
         * One line: libpq writes a line for each address it tried, and
         * indented hints under them, which are left out.
         */

        p = text;
        last = text + sizeof(text) - 1;

        for (line = what; line && *line; line += (*line == '\n')) {
            if (*line == ' ' || *line == '\t') {
                line += strcspn(line, "\n");
                continue;
            }

            if (p != text) {
                p = ngx_slprintf(p, last, "; ");
            }

            p = ngx_slprintf(p, last, "%*s", strcspn(line, "\n"), line);
            line += strcspn(line, "\n");
        }

        ngx_log_error(NGX_LOG_ERR, &pc->log, 0,
                      "epro: connection %ui: %*s%sreconnecting",
                      pc->index, p - text, text, (p != text) ? ", " : "");

        pc->reported = 1;
    }

    data = pc->data;
    lookup = pc->lookup;
    pc->data = NULL;
    pc->rows = NULL;
    pc->lookup = 0;

    if (pc->result) {
        PQclear(pc->result);
        pc->result = NULL;
    }

    ngx_http_epro_pg_close(pc);

    if (pc->deadline.timer_set) {
        ngx_del_timer(&pc->deadline);
    }

    ngx_http_epro_pg_state(pc, ngx_http_epro_pg_down);
    pc->log.action = NULL;

    delay = pc->backoff;
    pc->backoff = ngx_min(ngx_max(pc->backoff * 2, NGX_HTTP_EPRO_BACKOFF_MIN),
                          NGX_HTTP_EPRO_BACKOFF_MAX);

    ngx_add_timer(&pc->retry, delay ? delay : 1);

    if (data && lookup) {
        pc->pg->found(data, NGX_ERROR, NULL, 0);

    } else if (data) {
        pc->pg->done(data, NGX_HTTP_EPRO_PG_UNKNOWN, NULL, NULL);
    }
}


static void
ngx_http_epro_pg_close(ngx_http_epro_pg_conn_t *pc)
{
    if (pc->c) {
        ngx_http_epro_pg_unwatch(pc);

        if (pc->c->read->posted) {
            ngx_delete_posted_event(pc->c->read);
        }

        if (pc->c->write->posted) {
            ngx_delete_posted_event(pc->c->write);
        }

        pc->c->fd = (ngx_socket_t) -1;
        ngx_free_connection(pc->c);
        pc->c = NULL;
    }

    if (pc->conn) {
        PQfinish(pc->conn);
        pc->conn = NULL;
    }
}


/* level-triggered: libpq may leave bytes in the socket after a read */

static ngx_int_t
ngx_http_epro_pg_watch(ngx_http_epro_pg_conn_t *pc, ngx_int_t event)
{
    ngx_event_t  *ev;

    ev = (event == NGX_READ_EVENT) ? pc->c->read : pc->c->write;

    if (ev->active) {
        return NGX_OK;
    }

    return ngx_add_event(ev, event, NGX_LEVEL_EVENT);
}


static void
ngx_http_epro_pg_unwatch(ngx_http_epro_pg_conn_t *pc)
{
    ngx_uint_t  flags;

    /* libpq closes its socket itself on EOF: the kernel forgot it then */

    flags = (pc->conn && PQsocket(pc->conn) == pc->c->fd)
            ? 0 : NGX_CLOSE_EVENT;

    if (pc->c->read->active) {
        (void) ngx_del_event(pc->c->read, NGX_READ_EVENT, flags);
    }

    if (pc->c->write->active) {
        (void) ngx_del_event(pc->c->write, NGX_WRITE_EVENT, flags);
    }
}
static void
ngx_http_epro_pg_state(ngx_http_epro_pg_conn_t *pc,
    ngx_http_epro_pg_state_e state)
{
#if (NGX_DEBUG)
    if (pc->state != state) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, &pc->log, 0,
                       "epro: connection %ui: %s -> %s", pc->index,
                       ngx_http_epro_pg_state_names[pc->state],
                       ngx_http_epro_pg_state_names[state]);
    }
#endif

    ngx_http_epro_metrics_state(pc->pg->conf->index, pc->state, state);
    pc->state = state;
}


/*
 * Errors that one row can cause, as opposed to the database or the
 * statement: data exceptions, integrity constraints, a trigger's RAISE,
 * WITH CHECK OPTION.
 */

static ngx_uint_t
ngx_http_epro_pg_row_error(const char *sqlstate)
{
    return ngx_strncmp(sqlstate, "22", 2) == 0
           || ngx_strncmp(sqlstate, "23", 2) == 0
           || ngx_strncmp(sqlstate, "P0", 2) == 0
           || ngx_strncmp(sqlstate, "44", 2) == 0;
}


/*
 * A prepared statement that already exists (42P05) or is missing (26000)
 * on a connection that prepared it once: the connection is not ours for
 * the session, the signature of a pooler in transaction mode.
 */

static const char *
ngx_http_epro_pg_hint(const char *sqlstate)
{
    if (ngx_strcmp(sqlstate, "42P05") == 0
        || ngx_strcmp(sqlstate, "26000") == 0)
    {
        return ", a pooler in transaction mode? "
               "see \"epro_pg_statement unnamed\"";
    }

    return "";
}


/*
 * Once a statement ran, libpq's error text also holds the server's error
 * for it, which may quote row values; so only connection-level text is
 * logged before the connection is ready, and a fixed word after.
 */

static const char *
ngx_http_epro_pg_error(ngx_http_epro_pg_conn_t *pc)
{
    if (pc->state == ngx_http_epro_pg_connecting) {
        return PQerrorMessage(pc->conn);
    }

    if (PQstatus(pc->conn) == CONNECTION_BAD) {
        return "connection lost";
    }

    return "connection error";
}


static void
ngx_http_epro_pg_notice(void *arg, const PGresult *res)
{
    ngx_http_epro_pg_conn_t  *pc = arg;

    char  *severity, *sqlstate;

    /* the text may quote row values; the code says enough */

    severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (severity && (ngx_strcmp(severity, "FATAL") == 0
                     || ngx_strcmp(severity, "PANIC") == 0))
    {
        /* the server ends the connection: logged once it is lost */
        return;
    }

    /* see the top: a batch's commit is no longer known to be durable */

    if (pc->state == ngx_http_epro_pg_busy && severity
        && ngx_strcmp(severity, "WARNING") == 0)
    {
        pc->warned = 1;
    }

    ngx_log_error(NGX_LOG_NOTICE, &pc->log, 0,
                  "epro: connection %ui: PostgreSQL %s, SQLSTATE %s",
                  pc->index, severity ? severity : "NOTICE",
                  sqlstate ? sqlstate : "?????");
}


/* with several databases, each line names its own; the queue's too */

u_char *
ngx_http_epro_pg_log_handler(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_http_epro_db_t  *db = log->data;

    return ngx_snprintf(buf, len, ", database: \"%V\"", &db->name);
}


static void *
ngx_http_epro_pg_alloc(void *ctx, size_t size)
{
    return ngx_alloc(size, ctx);
}


static void
ngx_http_epro_pg_free(void *ctx, void *p)
{
    ngx_free(p);
}
