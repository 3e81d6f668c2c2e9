
/*
 * The epro_status handler: the metrics of all workers in the Prometheus
 * text format.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_pg.h"
#include "ngx_http_epro_status.h"


ngx_int_t
ngx_http_epro_status_handler(ngx_http_request_t *r)
{
    u_char                          *p, *last;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_uint_t                       i, n, cum;
    ngx_chain_t                      out;
    ngx_msec_t                       ms;
    ngx_table_elt_t                 *h;
    ngx_http_epro_metrics_t         *m;
    ngx_http_epro_metrics_gauges_t   g;

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

    m = ngx_http_epro_metrics_get();

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

    p = ngx_slprintf(p, last,
            "# HELP epro_requests_total Requests to epro_submit locations "
            "by result.\n"
            "# TYPE epro_requests_total counter\n");

    for (i = 1; i < NGX_HTTP_EPRO_NRESULTS; i++) {
        p = ngx_slprintf(p, last, "epro_requests_total{result=\"%V\"} %uA\n",
                         &ngx_http_epro_metrics_results[i], m->requests[i]);
    }

    p = ngx_slprintf(p, last,
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

    p = ngx_slprintf(p, last,
            "# HELP epro_batch_rows Rows per committed batch.\n"
            "# TYPE epro_batch_rows histogram\n");

    for (i = 0, cum = 0; i <= NGX_HTTP_EPRO_ROWS_BUCKETS; i++) {
        cum += m->batch_rows[i];

        if (i < NGX_HTTP_EPRO_ROWS_BUCKETS) {
            p = ngx_slprintf(p, last,
                             "epro_batch_rows_bucket{le=\"%ui\"} %ui\n",
                             ngx_http_epro_metrics_rows_buckets[i], cum);

        } else {
            p = ngx_slprintf(p, last,
                             "epro_batch_rows_bucket{le=\"+Inf\"} %ui\n"
                             "epro_batch_rows_sum %uA\n"
                             "epro_batch_rows_count %ui\n",
                             cum, m->batch_rows_sum, cum);
        }
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_commit_seconds Time from sending a batch to its "
            "commit.\n"
            "# TYPE epro_commit_seconds histogram\n");

    for (i = 0, cum = 0; i <= NGX_HTTP_EPRO_MS_BUCKETS; i++) {
        cum += m->commit_ms[i];

        if (i < NGX_HTTP_EPRO_MS_BUCKETS) {
            ms = ngx_http_epro_metrics_ms_buckets[i];

            p = ngx_slprintf(p, last,
                             "epro_commit_seconds_bucket{le=\"%ui.%03ui\"}"
                             " %ui\n",
                             ms / 1000, ms % 1000, cum);

        } else {
            p = ngx_slprintf(p, last,
                             "epro_commit_seconds_bucket{le=\"+Inf\"} %ui\n"
                             "epro_commit_seconds_sum %uA.%03uA\n"
                             "epro_commit_seconds_count %ui\n",
                             cum, m->commit_ms_sum / 1000,
                             m->commit_ms_sum % 1000, cum);
        }
    }

    ngx_http_epro_metrics_gauges(&g);

    p = ngx_slprintf(p, last,
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
            g.queued_rows, g.queue_bytes, g.waiting);

    for (i = 0; i < NGX_HTTP_EPRO_NSTATES; i++) {
        p = ngx_slprintf(p, last, "epro_connections{state=\"%s\"} %A\n",
                         ngx_http_epro_pg_state_names[i], g.conns[i]);
    }

    p = ngx_slprintf(p, last,
            "# HELP epro_db_errors_total Database errors by SQLSTATE class.\n"
            "# TYPE epro_db_errors_total counter\n");

    for (i = 0; i < NGX_HTTP_EPRO_CLASSES; i++) {
        if (m->db_errors[i]) {
            p = ngx_slprintf(p, last,
                             "epro_db_errors_total{class=\"%c%c\"} %uA\n",
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
