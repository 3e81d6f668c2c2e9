
/*
 * The epro_status handler: the metrics of all workers in the Prometheus
 * text format.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_pg.h"
#include "ngx_http_epro_status.h"


typedef struct {
    ngx_http_epro_metrics_db_t      *m;
    ngx_http_epro_metrics_gauges_t   g;
    ngx_str_t                        one;      /* {database="NAME"} */
    ngx_str_t                        first;    /* database="NAME", */
} ngx_http_epro_status_db_t;


static u_char *ngx_http_epro_status_rows(u_char *p, u_char *last,
    ngx_http_epro_status_db_t *sd);
static u_char *ngx_http_epro_status_commit(u_char *p, u_char *last,
    ngx_http_epro_status_db_t *sd);


static const char  ngx_http_epro_status_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static ngx_http_epro_metrics_db_t  ngx_http_epro_status_none;


/*
 * With epro_database lines, every sample carries its database's name
 * first; without, the output is as it was with one database, unlabelled.
 */

ngx_int_t
ngx_http_epro_status_handler(ngx_http_request_t *r)
{
    u_char                          *p, *last;
    size_t                           size;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_uint_t                       i, k, n;
    ngx_chain_t                      out;
    ngx_table_elt_t                 *h;
    ngx_http_epro_db_t             **dbs;
    ngx_http_epro_main_conf_t       *emcf;
    ngx_http_epro_status_db_t       *sd;

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

    if (ngx_http_epro_metrics_get(0) == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    emcf = ngx_http_get_module_main_conf(r, ngx_http_epro_module);

    /* no database: the counters of none, all 0, as they always were */

    n = ngx_max(emcf->databases.nelts, 1);

    sd = ngx_pcalloc(r->pool, n * sizeof(ngx_http_epro_status_db_t));
    if (sd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dbs = emcf->databases.elts;
    size = 4608;

    for (k = 0; k < n; k++) {
        if (emcf->databases.nelts) {
            sd[k].m = ngx_http_epro_metrics_get(dbs[k]->index);
            ngx_http_epro_metrics_gauges(dbs[k]->index, &sd[k].g);

        } else {
            sd[k].m = &ngx_http_epro_status_none;
        }

        if (sd[k].m == NULL) {
            sd[k].m = &ngx_http_epro_status_none;
        }

        if (emcf->named) {
            sd[k].one.len = sizeof("{database=\"\"}") - 1
                            + dbs[k]->name.len;
            sd[k].one.data = ngx_pnalloc(r->pool, 2 * sd[k].one.len);
            if (sd[k].one.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_sprintf(sd[k].one.data, "{database=\"%V\"}",
                        &dbs[k]->name);

            /* the same, to come before other labels */
            sd[k].first.data = sd[k].one.data + sd[k].one.len;
            sd[k].first.len = ngx_sprintf(sd[k].first.data,
                                          "database=\"%V\",",
                                          &dbs[k]->name)
                              - sd[k].first.data;
        }

        /* each database's metrics lines, labelled */
        size += 13312 + 53 * sd[k].one.len;

        for (i = 0; i < NGX_HTTP_EPRO_CLASSES; i++) {
            size += sd[k].m->db_errors[i] ? 64 + sd[k].one.len : 0;
        }
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;
    last = b->end;

    p = ngx_slprintf(p, last,
            "# HELP epro_requests_total Requests to epro_submit locations "
            "by result.\n"
            "# TYPE epro_requests_total counter\n");

    for (k = 0; k < n; k++) {
        for (i = 1; i < NGX_HTTP_EPRO_NRESULTS; i++) {
            p = ngx_slprintf(p, last,
                             "epro_requests_total{%Vresult=\"%V\"} %uA\n",
                             &sd[k].first, &ngx_http_epro_metrics_results[i],
                             sd[k].m->requests[i]);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_submissions_accepted_total Rows committed.\n"
            "# TYPE epro_submissions_accepted_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_submissions_accepted_total%V %uA\n",
                         &sd[k].one, sd[k].m->accepted);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_submissions_duplicate_total Submissions whose id "
            "was already stored.\n"
            "# TYPE epro_submissions_duplicate_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last,
                         "epro_submissions_duplicate_total%V %uA\n",
                         &sd[k].one, sd[k].m->duplicates);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_fhir_bundles_total FHIR Bundles answered 200, by "
            "type.\n"
            "# TYPE epro_fhir_bundles_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last,
                         "epro_fhir_bundles_total{%Vtype=\"transaction\"} "
                         "%uA\n"
                         "epro_fhir_bundles_total{%Vtype=\"batch\"} %uA\n",
                         &sd[k].first, sd[k].m->bundles[0],
                         &sd[k].first, sd[k].m->bundles[1]);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_fhir_bundle_entries_total Entries of those "
            "Bundles: rows queued, repeats of an earlier entry, refused.\n"
            "# TYPE epro_fhir_bundle_entries_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last,
                         "epro_fhir_bundle_entries_total{%Voutcome="
                         "\"queued\"} %uA\n"
                         "epro_fhir_bundle_entries_total{%Voutcome="
                         "\"repeated\"} %uA\n"
                         "epro_fhir_bundle_entries_total{%Voutcome="
                         "\"refused\"} %uA\n",
                         &sd[k].first,
                         sd[k].m->entries[NGX_HTTP_EPRO_ENTRY_QUEUED],
                         &sd[k].first,
                         sd[k].m->entries[NGX_HTTP_EPRO_ENTRY_REPEATED],
                         &sd[k].first,
                         sd[k].m->entries[NGX_HTTP_EPRO_ENTRY_REFUSED]);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_batches_total Batches committed.\n"
            "# TYPE epro_batches_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_batches_total%V %uA\n",
                         &sd[k].one, sd[k].m->batches);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_batch_rows Rows per committed batch.\n"
            "# TYPE epro_batch_rows histogram\n");

    for (k = 0; k < n; k++) {
        p = ngx_http_epro_status_rows(p, last, &sd[k]);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_commit_seconds Time from sending a batch to its "
            "commit.\n"
            "# TYPE epro_commit_seconds histogram\n");

    for (k = 0; k < n; k++) {
        p = ngx_http_epro_status_commit(p, last, &sd[k]);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_reads_total FHIR reads by id, by result.\n"
            "# TYPE epro_reads_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last,
                         "epro_reads_total{%Vresult=\"found\"} %uA\n"
                         "epro_reads_total{%Vresult=\"not_found\"} %uA\n",
                         &sd[k].first, sd[k].m->reads[0],
                         &sd[k].first, sd[k].m->reads[1]);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_lookups_total SELECTs of grouped reads by id.\n"
            "# TYPE epro_lookups_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_lookups_total%V %uA\n",
                         &sd[k].one, sd[k].m->lookups);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_lookup_ids_total Ids asked for by those SELECTs.\n"
            "# TYPE epro_lookup_ids_total counter\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_lookup_ids_total%V %uA\n",
                         &sd[k].one, sd[k].m->lookup_ids);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_queued_rows Rows waiting for a connection, all "
            "workers.\n"
            "# TYPE epro_queued_rows gauge\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_queued_rows%V %A\n",
                         &sd[k].one, sd[k].g.queued_rows);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_queue_bytes Bytes of rows in batches, sent or not, "
            "and of bodies let in to be read (epro_queue_max_bytes), all "
            "workers.\n"
            "# TYPE epro_queue_bytes gauge\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_queue_bytes%V %A\n",
                         &sd[k].one, sd[k].g.queue_bytes);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_waiting_requests Requests waiting for room in the "
            "queue, their bodies unread, all workers.\n"
            "# TYPE epro_waiting_requests gauge\n");

    for (k = 0; k < n; k++) {
        p = ngx_slprintf(p, last, "epro_waiting_requests%V %A\n",
                         &sd[k].one, sd[k].g.waiting);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_connections Database connections by state, all "
            "workers.\n"
            "# TYPE epro_connections gauge\n");

    for (k = 0; k < n; k++) {
        for (i = 0; i < NGX_HTTP_EPRO_NSTATES; i++) {
            p = ngx_slprintf(p, last,
                             "epro_connections{%Vstate=\"%s\"} %A\n",
                             &sd[k].first, ngx_http_epro_pg_state_names[i],
                             sd[k].g.conns[i]);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_db_errors_total Database errors by SQLSTATE "
            "class.\n"
            "# TYPE epro_db_errors_total counter\n");

    for (k = 0; k < n; k++) {
        for (i = 0; i < NGX_HTTP_EPRO_CLASSES; i++) {
            if (sd[k].m->db_errors[i]) {
                p = ngx_slprintf(p, last,
                                 "epro_db_errors_total{%Vclass=\"%c%c\"} "
                                 "%uA\n", &sd[k].first,
                                 ngx_http_epro_status_digits[i / 36],
                                 ngx_http_epro_status_digits[i % 36],
                                 sd[k].m->db_errors[i]);
            }
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


static u_char *
ngx_http_epro_status_rows(u_char *p, u_char *last,
    ngx_http_epro_status_db_t *sd)
{
    ngx_uint_t  i, cum;

    for (i = 0, cum = 0; i <= NGX_HTTP_EPRO_ROWS_BUCKETS; i++) {
        cum += sd->m->batch_rows[i];

        if (i < NGX_HTTP_EPRO_ROWS_BUCKETS) {
            p = ngx_slprintf(p, last,
                             "epro_batch_rows_bucket{%Vle=\"%ui\"} %ui\n",
                             &sd->first,
                             ngx_http_epro_metrics_rows_buckets[i], cum);

        } else {
            p = ngx_slprintf(p, last,
                             "epro_batch_rows_bucket{%Vle=\"+Inf\"} %ui\n"
                             "epro_batch_rows_sum%V %uA\n"
                             "epro_batch_rows_count%V %ui\n",
                             &sd->first, cum, &sd->one,
                             sd->m->batch_rows_sum, &sd->one, cum);
        }
    }

    return p;
}


static u_char *
ngx_http_epro_status_commit(u_char *p, u_char *last,
    ngx_http_epro_status_db_t *sd)
{
    ngx_uint_t  i, cum;
    ngx_msec_t  ms;

    for (i = 0, cum = 0; i <= NGX_HTTP_EPRO_MS_BUCKETS; i++) {
        cum += sd->m->commit_ms[i];

        if (i < NGX_HTTP_EPRO_MS_BUCKETS) {
            ms = ngx_http_epro_metrics_ms_buckets[i];

            p = ngx_slprintf(p, last,
                             "epro_commit_seconds_bucket{%Vle=\"%ui.%03ui\"}"
                             " %ui\n",
                             &sd->first, ms / 1000, ms % 1000, cum);

        } else {
            p = ngx_slprintf(p, last,
                             "epro_commit_seconds_bucket{%Vle=\"+Inf\"} "
                             "%ui\n"
                             "epro_commit_seconds_sum%V %uA.%03uA\n"
                             "epro_commit_seconds_count%V %ui\n",
                             &sd->first, cum, &sd->one,
                             sd->m->commit_ms_sum / 1000,
                             sd->m->commit_ms_sum % 1000, &sd->one, cum);
        }
    }

    return p;
}
