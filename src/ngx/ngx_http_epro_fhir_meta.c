
/*
 * What a FHIR base answers besides creates and reads: GET
 * [base]/metadata, the CapabilityStatement of the location, made once
 * from its configuration; 404 for any other URI below the base.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_reply.h"


/* rest.resource.extension: a Questionnaire the location checks against */
#define NGX_HTTP_EPRO_FHIR_META_EXT                                          \
    "urn:ngx-http-epro:StructureDefinition:questionnaire"


static ngx_int_t ngx_http_epro_fhir_meta_add(epro_buf_t *b, const char *s,
    epro_alloc_t *a);
static ngx_int_t ngx_http_epro_fhir_meta_resource(epro_buf_t *b,
    ngx_http_epro_loc_conf_t *elcf, ngx_uint_t ims, epro_alloc_t *a);
static ngx_int_t ngx_http_epro_fhir_meta_url(ngx_http_request_t *r,
    ngx_str_t *url);
static ngx_int_t ngx_http_epro_fhir_meta_format(ngx_http_request_t *r);
static ngx_int_t ngx_http_epro_fhir_meta_json(u_char *p, u_char *end,
    ngx_uint_t range);
static void *ngx_http_epro_fhir_meta_palloc(void *ctx, size_t size);


static ngx_str_t  ngx_http_epro_fhir_meta_type =
    ngx_string("application/fhir+json; charset=utf-8");


/* the media types of FHIR's JSON; a range also takes the wildcards */

static ngx_str_t  ngx_http_epro_fhir_meta_types[] = {
    ngx_string("application/fhir+json"),
    ngx_string("application/json"),
    ngx_string("application/json+fhir"),    /* DSTU2 clients send it */
    ngx_string("json"),                     /* _format only */
    ngx_string("*/*"),                      /* Accept only, from here */
    ngx_string("application/*"),
    ngx_null_string
};


/*
 * At configuration time: the statement up to implementation.url, which
 * holds the request's scheme and host, and the rest after it.  Checked
 * with the core's strict RFC 8259 checker once, here.
 */

ngx_int_t
ngx_http_epro_fhir_meta_init(ngx_conf_t *cf, ngx_http_epro_loc_conf_t *elcf)
{
    char                       date[EPRO_TIME_LEN + 1];
    size_t                     len;
    epro_buf_t                 b;
    epro_alloc_t               alloc;
    epro_request_t             req;
    ngx_http_core_loc_conf_t  *clcf;

    /* merged already: nginx merges the core module's first */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    alloc.alloc = ngx_http_epro_fhir_meta_palloc;
    alloc.free = NULL;
    alloc.ctx = cf->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    /* the date of the statement: when this configuration was read */
    len = epro_unix_to_rfc3339(date, (int64_t) ngx_time(), 0);

    if (ngx_http_epro_fhir_meta_add(&b, "{\"resourceType\":"
                                    "\"CapabilityStatement\","
                                    "\"status\":\"active\",\"date\":", &alloc)
        != NGX_OK
        || epro_buf_add_json_string(&b, date, len, &alloc) != EPRO_OK
        || ngx_http_epro_fhir_meta_add(&b, ",\"kind\":\"instance\","
                                       "\"software\":{\"name\":"
                                       "\"ngx_http_epro_module\"},"
                                       "\"implementation\":{"
                                       "\"description\":\"ePRO intake: "
                                       "QuestionnaireResponse create and "
                                       "read, transaction and batch "
                                       "Bundles\",\"url\":", &alloc)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    elcf->meta_head.data = (u_char *) b.data;
    elcf->meta_head.len = b.len;

    ngx_memzero(&b, sizeof(epro_buf_t));

    if (ngx_http_epro_fhir_meta_add(&b, "},\"fhirVersion\":\"4.0.1\","
                                    "\"format\":[\"json\","
                                    "\"application/fhir+json\"],"
                                    "\"rest\":[{\"mode\":\"server\","
                                    "\"resource\":[", &alloc)
        != NGX_OK
        || ngx_http_epro_fhir_meta_resource(&b, elcf,
                                            clcf->if_modified_since
                                            != NGX_HTTP_IMS_OFF,
                                            &alloc)
           != NGX_OK
        || ngx_http_epro_fhir_meta_add(&b, "],\"interaction\":["
                                       "{\"code\":\"transaction\"},"
                                       "{\"code\":\"batch\"}]}]}\n", &alloc)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    elcf->meta_tail.data = (u_char *) b.data;
    elcf->meta_tail.len = b.len;

    /* the whole of it, with an empty url */

    ngx_memzero(&b, sizeof(epro_buf_t));
    ngx_memzero(&req, sizeof(epro_request_t));

    if (epro_buf_add(&b, (char *) elcf->meta_head.data, elcf->meta_head.len,
                     &alloc)
        != EPRO_OK
        || epro_buf_add(&b, "\"\"", 2, &alloc) != EPRO_OK
        || epro_buf_add(&b, (char *) elcf->meta_tail.data,
                        elcf->meta_tail.len, &alloc)
           != EPRO_OK)
    {
        return NGX_ERROR;
    }

    if (epro_json_check(b.data, b.len, &req, &alloc)
        != EPRO_OK)
    {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, 0,
                           "epro: the CapabilityStatement is not valid "
                           "JSON");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * rest.resource: QuestionnaireResponse.  Only version 1 of a resource
 * ever exists, and it carries meta.versionId and an ETag, and
 * _history/1 reads it: "versioned", without history.  R4 has no element
 * for the Questionnaires a server takes responses to (profile and
 * supportedProfile are StructureDefinitions): each is an extension with
 * its canonical, and the documentation names them for people.  A read
 * answers If-None-Match, and If-Modified-Since unless the location has
 * if_modified_since off (ims 0).
 */

static ngx_int_t
ngx_http_epro_fhir_meta_resource(epro_buf_t *b,
    ngx_http_epro_loc_conf_t *elcf, ngx_uint_t ims, epro_alloc_t *a)
{
    size_t            i, n;
    epro_buf_t        doc;
    epro_fhir_q_t   **q;

    n = (elcf->questionnaires
         && elcf->q_effective_policy != EPRO_POLICY_OFF)
        ? elcf->questionnaires->n : 0;
    q = n ? elcf->questionnaires->list : NULL;

    ngx_memzero(&doc, sizeof(epro_buf_t));

    if (ngx_http_epro_fhir_meta_add(b, "{\"type\":\"QuestionnaireResponse\"",
                                    a)
        != NGX_OK
        || ngx_http_epro_fhir_meta_add(&doc, n ? "Responses are checked "
                                                 "against these "
                                                 "Questionnaires: "
                                               : "Responses are taken "
                                                 "without a Questionnaire "
                                                 "check.", a)
           != NGX_OK
        || (n && ngx_http_epro_fhir_meta_add(b, ",\"extension\":[", a)
                 != NGX_OK))
    {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_epro_fhir_meta_add(b, i ? ",{\"url\":\"" : "{\"url\":\"",
                                        a)
            != NGX_OK
            || ngx_http_epro_fhir_meta_add(b, NGX_HTTP_EPRO_FHIR_META_EXT
                                           "\",\"valueCanonical\":", a)
               != NGX_OK
            || epro_buf_add_json_string(b, q[i]->canonical.data,
                                        q[i]->canonical.len, a)
               != EPRO_OK
            || ngx_http_epro_fhir_meta_add(b, "}", a) != NGX_OK
            || ngx_http_epro_fhir_meta_add(&doc, i ? ", `" : "`", a)
               != NGX_OK
            || epro_buf_add(&doc, q[i]->canonical.data, q[i]->canonical.len,
                            a)
               != EPRO_OK
            || ngx_http_epro_fhir_meta_add(&doc, (i + 1 < n) ? "`" : "`.", a)
               != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_epro_fhir_meta_add(b, n ? "],\"documentation\":"
                                         : ",\"documentation\":", a)
        != NGX_OK
        || epro_buf_add_json_string(b, doc.data, doc.len, a) != EPRO_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_epro_fhir_meta_add(b, ",\"interaction\":["
                                    "{\"code\":\"create\"},"
                                    "{\"code\":\"read\"},"
                                    "{\"code\":\"vread\"}],"
                                    "\"versioning\":\"versioned\","
                                    "\"readHistory\":false,"
                                    "\"updateCreate\":false,"
                                    "\"conditionalCreate\":true,"
                                    "\"conditionalRead\":", a)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_epro_fhir_meta_add(b, ims ? "\"full-support\"}"
                                              : "\"not-match\"}", a);
}


static ngx_int_t
ngx_http_epro_fhir_meta_add(epro_buf_t *b, const char *s, epro_alloc_t *a)
{
    return (epro_buf_add(b, s, ngx_strlen(s), a) == EPRO_OK)
           ? NGX_OK : NGX_ERROR;
}


/* GET or HEAD [base]/metadata, before epro_bind: no identity is needed */

ngx_int_t
ngx_http_epro_fhir_metadata(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    size_t                     n;
    ngx_int_t                  rc;
    ngx_str_t                  url;
    epro_buf_t                 b;
    epro_alloc_t               alloc;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        if (ngx_http_epro_reply_header(r, "Allow", "GET, HEAD") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->result = NGX_HTTP_EPRO_METHOD;

        return ngx_http_epro_reply_problem(r, NGX_HTTP_NOT_ALLOWED, NULL,
                                           NULL, "the CapabilityStatement "
                                           "is read with GET", NULL);
    }

    rc = ngx_http_epro_fhir_meta_format(r);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        ctx->result = NGX_HTTP_EPRO_UNSUPPORTED;

        return ngx_http_epro_reply_problem(r, NGX_HTTP_EPRO_NOT_ACCEPTABLE,
                                           NULL, NULL, "this server answers "
                                           "in FHIR JSON only "
                                           "(application/fhir+json)", NULL);
    }

    if (ngx_http_epro_fhir_meta_url(r, &url) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    alloc.alloc = ngx_http_epro_fhir_meta_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    n = elcf->meta_head.len + elcf->meta_tail.len;

    if (epro_buf_reserve(&b, n + url.len * 6 + 2, &alloc) != EPRO_OK
        || epro_buf_add(&b, (char *) elcf->meta_head.data,
                        elcf->meta_head.len, &alloc)
           != EPRO_OK
        || epro_buf_add_json_string(&b, (char *) url.data, url.len, &alloc)
           != EPRO_OK
        || epro_buf_add(&b, (char *) elcf->meta_tail.data,
                        elcf->meta_tail.len, &alloc)
           != EPRO_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_epro_reply_send(r, NGX_HTTP_OK,
                                    &ngx_http_epro_fhir_meta_type, &b);
}


/*
 * implementation.url: the base, made absolute as nginx makes a Location
 * (absolute_redirect, server_name_in_redirect, port_in_redirect)
 */

static ngx_int_t
ngx_http_epro_fhir_meta_url(ngx_http_request_t *r, ngx_str_t *url)
{
    u_char                     *p, addr[NGX_SOCKADDR_STRLEN];
    size_t                      len;
    ngx_str_t                   host;
    ngx_uint_t                  port, https;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_core_srv_conf_t   *cscf;

    len = r->uri.len - (sizeof("/metadata") - 1);

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (!clcf->absolute_redirect) {
        url->data = r->uri.data;
        url->len = len;
        return NGX_OK;
    }

    if (clcf->server_name_in_redirect) {
        cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);
        host = cscf->server_name;

    } else if (r->headers_in.server.len) {
        host = r->headers_in.server;

    } else {
        host.len = NGX_SOCKADDR_STRLEN;
        host.data = addr;

        if (ngx_connection_local_sockaddr(r->connection, &host, 0) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    https = 0;

#if (NGX_HTTP_SSL)
    https = r->connection->ssl ? 1 : 0;
#endif

    port = ngx_inet_get_port(r->connection->local_sockaddr);

    if (!clcf->port_in_redirect || port == (https ? 443 : 80)) {
        port = 0;
    }

    p = ngx_pnalloc(r->pool, sizeof("https://:65535") - 1 + host.len + len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    url->data = p;

    p = ngx_cpymem(p, https ? "https://" : "http://", https ? 8 : 7);
    p = ngx_cpymem(p, host.data, host.len);

    if (port) {
        p = ngx_sprintf(p, ":%ui", port);
    }

    p = ngx_cpymem(p, r->uri.data, len);

    url->len = p - url->data;

    return NGX_OK;
}


/*
 * JSON is the only format: ?_format (FHIR's override) or Accept must
 * allow it.  No Accept at all allows anything.  NGX_DECLINED: 406.
 */

static ngx_int_t
ngx_http_epro_fhir_meta_format(ngx_http_request_t *r)
{
    u_char                     *p, *end, *dst, *src;
    ngx_str_t                   v;
    ngx_uint_t                  accept;
    ngx_table_elt_t            *h;
    ngx_http_epro_fhir_walk_t   w;

    static ngx_str_t  name = ngx_string("Accept");

    if (ngx_http_arg(r, (u_char *) "_format", 7, &v) == NGX_OK) {
        p = ngx_pnalloc(r->pool, v.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        dst = p;
        src = v.data;
        ngx_unescape_uri(&dst, &src, v.len, NGX_UNESCAPE_URI);

        return ngx_http_epro_fhir_meta_json(p, dst, 0);
    }

    accept = 0;
    ngx_memzero(&w, sizeof(ngx_http_epro_fhir_walk_t));

    for ( ;; ) {
        h = ngx_http_epro_fhir_header(r, &name, &w);

        if (h == NULL) {
            break;
        }

        accept = 1;

        /* each media range up to its parameters or the next comma */

        p = h->value.data;
        end = p + h->value.len;

        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            v.data = p;

            while (p < end && *p != ',') {
                p++;
            }

            if (ngx_http_epro_fhir_meta_json(v.data, p, 1) == NGX_OK) {
                return NGX_OK;
            }
        }
    }

    return accept ? NGX_DECLINED : NGX_OK;
}


/* one media type (or media range) up to its parameters: FHIR JSON? */

static ngx_int_t
ngx_http_epro_fhir_meta_json(u_char *p, u_char *end, ngx_uint_t range)
{
    u_char     *t;
    ngx_str_t  *type;

    for (t = p; t < end && *t != ';' && *t != ' ' && *t != '\t'; t++) {
        /* void */
    }

    for (type = ngx_http_epro_fhir_meta_types; type->len; type++) {
        if (!range && type->data[0] == '*') {
            break;
        }

        if ((size_t) (t - p) == type->len
            && ngx_strncasecmp(p, type->data, type->len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* a URI below a prefix location's base that is none of its routes */

ngx_int_t
ngx_http_epro_fhir_unknown(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->result = NGX_HTTP_EPRO_REFUSED;

    return ngx_http_epro_reply_problem(r, NGX_HTTP_NOT_FOUND, NULL, NULL,
                                       "not found: this FHIR base serves "
                                       "metadata and QuestionnaireResponse "
                                       "(create, read) only", NULL);
}


static void *
ngx_http_epro_fhir_meta_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}
