
/*
 * epro_submit fhir: one QuestionnaireResponse per request, checked by
 * the core (src/core/epro_fhir.c) on the worker's parse arena, mapped to
 * one submission that takes the native path's queue; its answers are
 * in ngx_http_epro_reply.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro_body.h"
#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_handler.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_reply.h"


typedef struct {
    ngx_str_t                  value;
    ngx_uint_t                 prefer;
    const char                *applied;
} ngx_http_epro_fhir_return_t;


static ngx_int_t ngx_http_epro_fhir_refuse(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_str_t *body, int parsed);
static ngx_int_t ngx_http_epro_fhir_bundle(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, ngx_str_t *body, epro_alloc_t *a);
static ngx_int_t ngx_http_epro_fhir_entries(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx, epro_fhir_bundle_t *bundle, epro_alloc_t *a);
static ngx_int_t ngx_http_epro_fhir_defaults(ngx_http_request_t *r,
    epro_fhir_request_t *fhir, epro_alloc_t *a);
static ngx_int_t ngx_http_epro_fhir_value(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, epro_str_t *s);
static void ngx_http_epro_fhir_prefer(ngx_http_request_t *r,
    ngx_http_epro_ctx_t *ctx);
static ngx_int_t ngx_http_epro_fhir_param(u_char **pp, u_char *end);
static ngx_int_t ngx_http_epro_fhir_base(ngx_http_request_t *r,
    ngx_str_t *base);
static void *ngx_http_epro_fhir_palloc(void *ctx, size_t size);


/* Questionnaires checked with epro_questionnaire_policy off: none */

static epro_fhir_set_t  ngx_http_epro_fhir_none;


/*
 * "application/fhir+json" or "application/json", with charset=utf-8
 * and fhirVersion=4.0 parameters, in any order, each at most once
 */

ngx_int_t
ngx_http_epro_fhir_type(ngx_http_request_t *r)
{
    u_char     *p, *end;
    ngx_int_t   rc;
    ngx_uint_t  seen;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;

    if (end - p >= 21
        && ngx_strncasecmp(p, (u_char *) "application/fhir+json", 21) == 0)
    {
        p += 21;

    } else if (end - p >= 16
               && ngx_strncasecmp(p, (u_char *) "application/json", 16) == 0)
    {
        p += 16;

    } else {
        return NGX_DECLINED;
    }

    seen = 0;

    for ( ;; ) {
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == end) {
            return NGX_OK;
        }

        if (*p++ != ';') {
            return NGX_DECLINED;
        }

        rc = ngx_http_epro_fhir_param(&p, end);

        if (rc == NGX_ERROR || (seen & rc)) {
            return NGX_DECLINED;
        }

        seen |= rc;
    }
}


/* one parameter: 1 charset=utf-8, 2 fhirVersion=4.0, or NGX_ERROR */

static ngx_int_t
ngx_http_epro_fhir_param(u_char **pp, u_char *end)
{
    u_char     *p, *name, *value;
    size_t      nlen, vlen;
    ngx_uint_t  quoted;

    p = *pp;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    name = p;

    while (p < end && *p != '=' && *p != ';' && *p != ' ') {
        p++;
    }

    nlen = p - name;

    if (p == end || *p++ != '=') {
        return NGX_ERROR;
    }

    quoted = (p < end && *p == '"');
    p += quoted;
    value = p;

    while (p < end && (quoted ? *p != '"' : (*p != ';' && *p != ' '
                                            && *p != '\t')))
    {
        p++;
    }

    vlen = p - value;

    if (quoted) {
        if (p == end) {
            return NGX_ERROR;
        }

        p++;
    }

    *pp = p;

    if (nlen == 7 && ngx_strncasecmp(name, (u_char *) "charset", 7) == 0) {
        return (vlen == 5 && ngx_strncasecmp(value, (u_char *) "utf-8", 5)
                             == 0)
               ? 1 : NGX_ERROR;
    }

    if (nlen == 11
        && ngx_strncasecmp(name, (u_char *) "fhirVersion", 11) == 0)
    {
        return (vlen == 3 && ngx_strncmp(value, "4.0", 3) == 0)
               ? 2 : NGX_ERROR;
    }

    return NGX_ERROR;
}


/*
 * A FHIR location serves the base of a FHIR server: [base]/metadata,
 * reads of [base]/QuestionnaireResponse/<id> (and /_history/<version>),
 * and POSTs of a QuestionnaireResponse or a Bundle to [base] or
 * [base]/QuestionnaireResponse (the body's resourceType says which).
 * Works with a prefix location such as "location /fhir/" (its name is
 * the base: any other URI below it is not found) as well as with an
 * exact or regex one, which takes any URI it matches as a create.
 */

void
ngx_http_epro_fhir_route(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    u_char     *p, *end, *id;
    size_t      rest;
    ngx_str_t  *uri, base;
    ngx_int_t   prefix;

    static u_char  qr[] = "/QuestionnaireResponse/";
    static u_char  hist[] = "/_history/";
    static u_char  meta[] = "/metadata";

    uri = &r->uri;
    end = uri->data + uri->len;

    prefix = ngx_http_epro_fhir_base(r, &base);
    rest = uri->len - base.len;

    if (prefix == NGX_OK) {
        ctx->base = base;
    }

    ctx->route = NGX_HTTP_EPRO_FHIR_CREATE;

    if (uri->len >= sizeof(meta) - 1
        && ngx_strncmp(end - (sizeof(meta) - 1), meta, sizeof(meta) - 1)
           == 0)
    {
        ctx->route = (prefix == NGX_OK && rest != sizeof(meta) - 1)
                     ? NGX_HTTP_EPRO_FHIR_UNKNOWN
                     : NGX_HTTP_EPRO_FHIR_METADATA;
        return;
    }

    /* below a prefix location's base: "", "/" and the type are creates */

    if (prefix == NGX_OK
        && rest > 1
        && !((rest == sizeof(qr) - 2 || rest == sizeof(qr) - 1)
             && ngx_strncmp(uri->data + base.len, qr, rest) == 0))
    {
        ctx->route = NGX_HTTP_EPRO_FHIR_UNKNOWN;
    }

    /* [base]/QuestionnaireResponse/ with something after it; without a
     * known base, the last "/QuestionnaireResponse/" */

    if (prefix == NGX_OK) {
        p = uri->data + base.len;

        if (rest <= sizeof(qr) - 1
            || ngx_strncmp(p, qr, sizeof(qr) - 1) != 0)
        {
            return;
        }

    } else {
        for (p = end - (sizeof(qr) - 1); p >= uri->data; p--) {
            if (ngx_strncmp(p, qr, sizeof(qr) - 1) == 0) {
                break;
            }
        }

        if (p < uri->data || p + sizeof(qr) - 1 == end) {
            return;
        }
    }

    id = p + sizeof(qr) - 1;
    p = ngx_strlchr(id, end, '/');

    ctx->route = NGX_HTTP_EPRO_FHIR_READ;
    ctx->read_id.data = id;
    ctx->read_id.len = (p ? p : end) - id;

    /* <id>/_history/<version>; anything else after the id is not found,
     * which the read says with an empty id */

    if (p == NULL) {
        return;
    }

    if ((size_t) (end - p) > sizeof(hist) - 1
        && ngx_strncmp(p, hist, sizeof(hist) - 1) == 0
        && ngx_strlchr(p + sizeof(hist) - 1, end, '/') == NULL)
    {
        ctx->read_version.data = p + sizeof(hist) - 1;
        ctx->read_version.len = end - ctx->read_version.data;
        return;
    }

    ctx->read_id.len = 0;
}


/*
 * A prefix location's name, without its trailing '/', is the FHIR base
 * (an if or limit_except block in it has its base); NGX_DECLINED: an
 * exact, regex or named location, whose URIs give no base.
 */

static ngx_int_t
ngx_http_epro_fhir_base(ngx_http_request_t *r, ngx_str_t *base)
{
    ngx_str_t                 *name;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);
    name = &elcf->location;

    base->data = r->uri.data;
    base->len = 0;

    if (name->len == 0
        || r->uri.len < name->len
        || ngx_strncmp(r->uri.data, name->data, name->len) != 0)
    {
        return NGX_DECLINED;
    }

    base->len = name->len;

    if (name->data[base->len - 1] == '/') {
        base->len--;
    }

    return NGX_OK;
}


/*
 * Runs the FHIR check on the body in the arena a.  NGX_DECLINED: go on,
 * ctx->req holds the one submission; anything else is what to finalize
 * the request with (an OperationOutcome was sent, or an error).
 */

ngx_int_t
ngx_http_epro_fhir_parse(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_str_t *body, epro_alloc_t *a)
{
    int                        parsed;
    ngx_int_t                  rc;
    epro_fhir_bundle_t        *bundle;
    epro_fhir_request_t       *fhir;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    /*
     * The Bundle's check lives in the parse arena, as the entries' trees
     * do: what the answer needs of it goes to ctx->entries.  Every byte
     * of the request pool counts: a 4 KB body already takes a block of
     * its own, and a few hundred more take another.
     */

    fhir = ngx_pcalloc(r->pool, sizeof(epro_fhir_request_t));
    bundle = a->alloc(a->ctx, sizeof(epro_fhir_bundle_t));

    if (fhir == NULL || bundle == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(bundle, sizeof(epro_fhir_bundle_t));

    ctx->fhir = fhir;
    ngx_http_epro_fhir_prefer(r, ctx);

    fhir->set = (elcf->q_effective_policy == EPRO_POLICY_OFF)
                ? &ngx_http_epro_fhir_none : elcf->questionnaires;
    fhir->bundle = bundle;
    bundle->max_entries = elcf->max_submissions;

    parsed = epro_fhir_parse(fhir, (const char *) body->data, body->len, a);

    if (bundle->found) {
        if (parsed != EPRO_OK) {
            return ngx_http_epro_fhir_refuse(r, ctx, body, parsed);
        }

        return ngx_http_epro_fhir_bundle(r, ctx, body, a);
    }

    if (parsed == EPRO_ERROR
        && elcf->q_effective_policy != EPRO_POLICY_STRICT
        && epro_fhir_forgive_unknown(fhir))
    {
        parsed = EPRO_OK;
    }

    if (parsed == EPRO_OK) {
        rc = ngx_http_epro_fhir_defaults(r, fhir, a);

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (fhir->nfound == 0) {
            ctx->req.subs = &fhir->sub;
            ctx->req.nsubs = 1;

            return NGX_DECLINED;
        }

        parsed = EPRO_ERROR;
        fhir->status = EPRO_STATUS_INVALID;
    }

    return ngx_http_epro_fhir_refuse(r, ctx, body, parsed);
}


/* the request refused as a whole: an OperationOutcome of ctx->fhir's */

static ngx_int_t
ngx_http_epro_fhir_refuse(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_str_t *body, int parsed)
{
    ngx_int_t             rc;
    epro_fhir_request_t  *fhir;

    fhir = ctx->fhir;

    switch (parsed == EPRO_ERROR ? fhir->status : EPRO_NOMEM) {

    case EPRO_STATUS_BAD_JSON:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: malformed FHIR resource in a %uz byte body: "
                      "%uz issue(s)", body->len, fhir->nfound);

        ctx->result = NGX_HTTP_EPRO_BAD_JSON;

        rc = ngx_http_epro_reply_problem(r, NGX_HTTP_BAD_REQUEST, NULL, NULL,
                                         "the body is not a valid FHIR R4 "
                                         "QuestionnaireResponse", ctx);
        break;

    case EPRO_STATUS_INVALID:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: invalid QuestionnaireResponse: %uz issue(s)",
                      fhir->nfound);

        ctx->result = fhir->questionnaire ? NGX_HTTP_EPRO_INSTRUMENT
                                          : NGX_HTTP_EPRO_CONTRACT;

        rc = ngx_http_epro_reply_problem(r, NGX_HTTP_EPRO_UNPROCESSABLE,
                                         NULL, NULL,
                                         "the QuestionnaireResponse breaks "
                                         "its Questionnaire's rules; "
                                         "nothing was stored", ctx);
        break;

    case EPRO_STATUS_TOO_MANY:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: a Bundle of more than %uz entries",
                      fhir->bundle->max_entries);

        ctx->result = NGX_HTTP_EPRO_TOO_LARGE;

        rc = ngx_http_epro_reply_problem(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         NULL, NULL, "too many entries",
                                         ctx);
        break;

    default:
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        break;
    }

    /* the issues point into the arena */

    fhir->nissues = 0;

    return rc;
}


/*
 * A Bundle whose own elements are right: its entries are checked,
 * given their defaults like a lone resource, and those to store go to
 * ctx->req.subs, once each.  A transaction with an entry refused is
 * refused as a whole; a batch keeps the valid entries and answers the
 * others.  NGX_DECLINED: rows to queue; anything else: answered.
 */

static ngx_int_t
ngx_http_epro_fhir_bundle(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    ngx_str_t *body, epro_alloc_t *a)
{
    ngx_int_t             rc;
    ngx_uint_t            k;
    epro_fhir_bundle_t   *bundle;
    epro_fhir_request_t  *fhir, *en;

    fhir = ctx->fhir;
    bundle = fhir->bundle;

    ctx->bundle = 1;
    ctx->batch = bundle->batch;
    ctx->nentries = bundle->nentries;

    rc = ngx_http_epro_fhir_entries(r, ctx, bundle, a);
    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!bundle->batch) {
        for (k = 0; k < bundle->nentries; k++) {
            en = &bundle->entries[k].req;

            if (en->nfound) {
                break;
            }
        }

        if (k < bundle->nentries) {
            if (epro_fhir_bundle_merge(fhir, bundle, a) != EPRO_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "epro: transaction Bundle of %uz entries "
                          "refused: %uz issue(s)",
                          bundle->nentries, fhir->nfound);

            if (fhir->status == EPRO_STATUS_BAD_JSON) {
                return ngx_http_epro_fhir_refuse(r, ctx, body, EPRO_ERROR);
            }

            ctx->result = NGX_HTTP_EPRO_CONTRACT;

            for (k = 0; k < bundle->nentries; k++) {
                if (bundle->entries[k].req.questionnaire) {
                    ctx->result = NGX_HTTP_EPRO_INSTRUMENT;
                    break;
                }
            }

            rc = ngx_http_epro_reply_problem(r, NGX_HTTP_EPRO_UNPROCESSABLE,
                                             NULL, NULL,
                                             "an entry breaks its "
                                             "Questionnaire's rules; nothing "
                                             "was stored", ctx);
            fhir->nissues = 0;

            return rc;
        }
    }

    if (ctx->refused) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "epro: batch Bundle: %ui of %uz entries refused",
                      ctx->refused, bundle->nentries);
    }

    if (ctx->req.nsubs) {
        return NGX_DECLINED;
    }

    /* nothing to store: the answer now */

    ctx->req.subs = NULL;

    return ngx_http_epro_reply_outcome(ctx, NGX_HTTP_CREATED, NULL);
}


/*
 * Each entry: the policy's forgiveness and the location's defaults, as
 * for a lone resource; then its row, unless an earlier entry had the
 * same id (a repeat, answered like a retry) or it is refused (a batch
 * answers it with its OperationOutcome, made now: its issues live in
 * the arena).
 */

static ngx_int_t
ngx_http_epro_fhir_entries(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    epro_fhir_bundle_t *bundle, epro_alloc_t *a)
{
    ngx_uint_t                 k, j, n;
    epro_buf_t                 b;
    epro_alloc_t               pool;
    epro_submission_t         *subs;
    epro_fhir_request_t       *en;
    ngx_http_epro_entry_t     *entry;
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    n = bundle->nentries;

    ctx->entries = ngx_pcalloc(r->pool, (n ? n : 1)
                                        * sizeof(ngx_http_epro_entry_t));
    subs = a->alloc(a->ctx, (n ? n : 1) * sizeof(epro_submission_t));

    if (ctx->entries == NULL || subs == NULL) {
        return NGX_ERROR;
    }

    pool.alloc = ngx_http_epro_fhir_palloc;
    pool.free = NULL;
    pool.ctx = r->pool;

    ctx->req.subs = subs;
    ctx->req.nsubs = 0;

    for (k = 0; k < n; k++) {
        en = &bundle->entries[k].req;
        entry = &ctx->entries[k];

        if (en->status != EPRO_OK
            && elcf->q_effective_policy != EPRO_POLICY_STRICT)
        {
            (void) epro_fhir_forgive_unknown(en);
        }

        if (en->nfound == 0) {
            if (ngx_http_epro_fhir_defaults(r, en, a) != NGX_OK) {
                return NGX_ERROR;
            }

            if (en->nfound) {
                en->status = EPRO_STATUS_INVALID;
            }
        }

        if (en->nfound) {
            entry->sub = -1;
            entry->status = en->status;
            ctx->refused++;

            if (!bundle->batch) {
                continue;
            }

            ngx_memzero(&b, sizeof(epro_buf_t));

            if (epro_fhir_outcome_json(&b, en, &pool) != EPRO_OK) {
                return NGX_ERROR;
            }

            entry->outcome.data = (u_char *) b.data;
            entry->outcome.len = b.len;

            continue;
        }

        /* the same identifier twice: stored once, the later a retry */

        for (j = 0; en->sub.id[0] && j < ctx->req.nsubs; j++) {
            if (ngx_strncmp(subs[j].id, en->sub.id, EPRO_UUID_LEN) == 0) {
                break;
            }
        }

        if (en->sub.id[0] && j < ctx->req.nsubs) {
            entry->sub = j;
            entry->status = NGX_HTTP_OK;
            ctx->repeated++;
            continue;
        }

        entry->sub = ctx->req.nsubs;
        subs[ctx->req.nsubs++] = en->sub;
    }

    return NGX_OK;
}


/*
 * What a row needs beyond the resource: the flattened answers ("{}" for
 * a response taken without its Questionnaire), the score as text, and
 * the location's study, site and visit where the resource names none.
 * A row without a study or a visit becomes an issue (422).
 */

static ngx_int_t
ngx_http_epro_fhir_defaults(ngx_http_request_t *r, epro_fhir_request_t *fhir,
    epro_alloc_t *a)
{
    u_char                    *p;
    epro_submission_t         *sub;
    ngx_http_epro_loc_conf_t  *elcf;
    u_char                     expr[EPRO_FHIR_PATH_MAX];

    elcf = ngx_http_get_module_loc_conf(r, ngx_http_epro_module);

    sub = &fhir->sub;

    if (fhir->answers.data) {
        sub->answers = fhir->answers;

    } else {
        sub->answers.data = "{}";
        sub->answers.len = 2;
    }

    sub->fhir_status = fhir->fhir_status;

    if (fhir->has_score) {
        p = ngx_pnalloc(r->pool, EPRO_FHIR_NUMBER_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        sub->score.data = (char *) p;
        sub->score.len = epro_fhir_number_text((char *) p, fhir->score);
    }

    if ((sub->study.data == NULL
         && ngx_http_epro_fhir_value(r, elcf->study, &sub->study) != NGX_OK)
        || (sub->site.data == NULL
            && ngx_http_epro_fhir_value(r, elcf->site, &sub->site)
               != NGX_OK)
        || (sub->visit.data == NULL
            && ngx_http_epro_fhir_value(r, elcf->visit, &sub->visit)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (sub->study.data == NULL) {
        *ngx_snprintf(expr, sizeof(expr) - 1, "%s.extension", fhir->base)
            = '\0';
    }

    if (sub->study.data == NULL
        && epro_fhir_issue_add(fhir, "required", (char *) expr,
                               "no study: the resource has no "
                               "workflow-researchStudy extension and the "
                               "location no epro_study value", a)
           != EPRO_OK)
    {
        return NGX_ERROR;
    }

    if (sub->visit.data == NULL) {
        *ngx_snprintf(expr, sizeof(expr) - 1, "%s.encounter", fhir->base)
            = '\0';
    }

    if (sub->visit.data == NULL
        && epro_fhir_issue_add(fhir, "required", (char *) expr,
                               "no visit: the resource has no encounter "
                               "and the location no epro_visit value", a)
           != EPRO_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a location's value; empty, or no directive: none (data NULL) */

static ngx_int_t
ngx_http_epro_fhir_value(ngx_http_request_t *r, ngx_http_complex_value_t *cv,
    epro_str_t *s)
{
    ngx_str_t  v;

    if (cv == NULL) {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, cv, &v) != NGX_OK) {
        return NGX_ERROR;
    }

    if (v.len) {
        s->data = (char *) v.data;
        s->len = v.len;
    }

    return NGX_OK;
}


/*
 * Before the row is queued and the parse arena reset: the resource for
 * the answer, if the client wants it (the default).  Only its head (id
 * and meta) is written; the rest is sent from the body's own bytes, kept
 * until the answer instead of dropped, unless the body was gathered in
 * the arena: then the runs are copied.
 */

ngx_int_t
ngx_http_epro_fhir_keep(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx,
    const char *received)
{
    u_char              *p;
    char                 id[EPRO_UUID_LEN + 1];
    size_t               i, n;
    epro_buf_t           b;
    epro_str_t          *run;
    epro_alloc_t         alloc;
    epro_submission_t   *sub;

    /* a Bundle's entries carry no resource: Prefer is not applied */

    if (ctx->prefer != NGX_HTTP_EPRO_FHIR_REPRESENTATION || ctx->bundle) {
        return NGX_OK;
    }

    sub = &ctx->fhir->sub;

    ngx_memcpy(id, ctx->ids, EPRO_UUID_LEN);
    id[EPRO_UUID_LEN] = '\0';

    alloc.alloc = ngx_http_epro_fhir_palloc;
    alloc.free = NULL;
    alloc.ctx = r->pool;

    ngx_memzero(&b, sizeof(epro_buf_t));

    if (epro_fhir_resource_head(&b, sub->payload.data, sub->payload.len,
                                ctx->fhir->root, id, received, &ctx->parts,
                                &alloc)
        != EPRO_OK)
    {
        return NGX_ERROR;
    }

    ctx->head.data = (u_char *) b.data;
    ctx->head.len = b.len;

    if (!ngx_http_epro_body_in_arena((u_char *) sub->payload.data)) {
        ctx->keep_body = 1;
        return NGX_OK;
    }

    n = 0;

    for (i = 0; i < ctx->parts.nruns; i++) {
        n += ctx->parts.run[i].len;
    }

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->parts.nruns; i++) {
        run = &ctx->parts.run[i];
        ngx_memcpy(p, run->data, run->len);
        run->data = (char *) p;
        p += run->len;
    }

    return NGX_OK;
}


/* epro_bind on a FHIR location: the mapped element, never its value */

ngx_int_t
ngx_http_epro_fhir_bind_issue(ngx_http_epro_ctx_t *ctx, ngx_uint_t sub,
    ngx_str_t *member, ngx_uint_t absent, epro_alloc_t *a)
{
    u_char      *p, msg[128], expr[EPRO_FHIR_PATH_MAX];
    ngx_uint_t   k;
    const char  *base;

    base = "QuestionnaireResponse";

    /* in a Bundle: the first entry of that row (the arena still holds
     * the entries' paths) */

    for (k = 0; ctx->bundle && k < ctx->nentries; k++) {
        if (ctx->entries[k].sub == (ngx_int_t) sub) {
            base = ctx->fhir->bundle->entries[k].req.base;
            break;
        }
    }

    if (member->len == 9 && ngx_strncmp(member->data, "subjectId", 9) == 0) {
        *ngx_snprintf(expr, sizeof(expr) - 1, "%s.subject", base) = '\0';

    } else if (member->len == 7
               && ngx_strncmp(member->data, "studyId", 7) == 0)
    {
        *ngx_snprintf(expr, sizeof(expr) - 1, "%s.extension", base) = '\0';

    } else {
        expr[0] = '\0';     /* siteId: only the location gives one */
    }

    p = ngx_snprintf(msg, sizeof(msg) - 1, "the %V %s", member,
                     absent ? "is absent but must match the authenticated "
                              "identity"
                            : "does not match the authenticated identity");
    *p = '\0';

    return (epro_fhir_issue_add(ctx->fhir, "forbidden", (char *) expr,
                                (char *) msg, a)
            == EPRO_OK)
           ? NGX_OK : NGX_ERROR;
}


/*
 * The request header named name (any case) after the walk's place, NULL
 * after the last: a header sent several times is seen each time.
 */

ngx_table_elt_t *
ngx_http_epro_fhir_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_http_epro_fhir_walk_t *w)
{
    ngx_table_elt_t  *h;

    if (w->part == NULL) {
        w->part = &r->headers_in.headers.part;
        w->i = 0;
    }

    for ( ;; ) {

        if (w->i >= w->part->nelts) {
            if (w->part->next == NULL) {
                return NULL;
            }

            w->part = w->part->next;
            w->i = 0;
            continue;
        }

        h = (ngx_table_elt_t *) w->part->elts + w->i++;

        if (h->key.len == name->len
            && ngx_strncasecmp(h->key.data, name->data, name->len) == 0)
        {
            return h;
        }
    }
}


/*
 * Prefer: return=minimal | representation | OperationOutcome (RFC 7240:
 * a list of preferences, each a name, "=" and a token, then parameters).
 * Only a value the module knows is honoured and named in
 * Preference-Applied; any other leaves the default unannounced.
 */

static ngx_http_epro_fhir_return_t  ngx_http_epro_fhir_returns[] = {
    { ngx_string("minimal"),
      NGX_HTTP_EPRO_FHIR_MINIMAL,
      "return=minimal" },
    { ngx_string("representation"),
      NGX_HTTP_EPRO_FHIR_REPRESENTATION,
      "return=representation" },
    { ngx_string("OperationOutcome"),
      NGX_HTTP_EPRO_FHIR_OUTCOME,
      "return=OperationOutcome" },
    { ngx_null_string, 0, NULL }
};


static void
ngx_http_epro_fhir_prefer(ngx_http_request_t *r, ngx_http_epro_ctx_t *ctx)
{
    u_char                       *p, *v, *end;
    ngx_table_elt_t              *h;
    ngx_http_epro_fhir_walk_t     w;
    ngx_http_epro_fhir_return_t  *ret;

    static ngx_str_t  name = ngx_string("Prefer");

    ctx->prefer = NGX_HTTP_EPRO_FHIR_REPRESENTATION;
    ctx->prefer_applied = NULL;

    ngx_memzero(&w, sizeof(ngx_http_epro_fhir_walk_t));

    for ( ;; ) {
        h = ngx_http_epro_fhir_header(r, &name, &w);

        if (h == NULL) {
            break;
        }

        p = h->value.data;
        end = p + h->value.len;

        while (p < end) {
            p = ngx_strlcasestrn(p, end, (u_char *) "return=", 7 - 1);

            if (p == NULL) {
                break;
            }

            /* a preference's name starts the header or follows a comma */

            for (v = p; v > h->value.data
                        && (v[-1] == ' ' || v[-1] == '\t');
                 v--)
            {
                /* void */
            }

            p += 7;

            if (v != h->value.data && v[-1] != ',') {
                continue;
            }

            for (v = p; v < end && *v != ';' && *v != ',' && *v != ' '
                        && *v != '\t';
                 v++)
            {
                /* void */
            }

            for (ret = ngx_http_epro_fhir_returns; ret->applied; ret++) {
                if ((size_t) (v - p) == ret->value.len
                    && ngx_strncasecmp(p, ret->value.data, ret->value.len)
                       == 0)
                {
                    ctx->prefer = ret->prefer;
                    ctx->prefer_applied = ret->applied;
                    return;
                }
            }

            p = v;
        }
    }
}


static void *
ngx_http_epro_fhir_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}
