
/*
 * ngx_http_epro_module: the request path's configuration and context,
 * and the epro_submit content handler.
 */


#ifndef _NGX_HTTP_EPRO_HANDLER_H_INCLUDED_
#define _NGX_HTTP_EPRO_HANDLER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "epro_core.h"
#include "epro_fhir.h"
#include "ngx_http_epro.h"
#include "ngx_http_epro_queue.h"


#define NGX_HTTP_EPRO_OFF            ((ngx_msec_t) -2)


/* epro_bind: a member of every submission must equal a value */
/* Prefer: return=... (RFC 7240, FHIR's RESTful API) */
#define NGX_HTTP_EPRO_FHIR_REPRESENTATION  0
#define NGX_HTTP_EPRO_FHIR_MINIMAL         1

/* what a request on an epro_submit fhir location asks for, by its URI */
#define NGX_HTTP_EPRO_FHIR_CREATE          0   /* POST: a resource or a
                                                  Bundle */
#define NGX_HTTP_EPRO_FHIR_READ            1   /* .../QuestionnaireResponse/
                                                  <id>[/_history/<v>] */
#define NGX_HTTP_EPRO_FHIR_METADATA        2   /* .../metadata */
#define NGX_HTTP_EPRO_FHIR_UNKNOWN         3   /* none of these below a
                                                  prefix location's base */
#define NGX_HTTP_EPRO_FHIR_OUTCOME         2


typedef struct {
    ngx_str_t                  member;     /* "subjectId" */
    size_t                     offset;     /* of its epro_str_t in
                                              epro_submission_t */
    ngx_http_complex_value_t   value;
} ngx_http_epro_bind_t;


/* epro_column: an extra column of the table, the same for every row */
typedef struct {
    ngx_str_t                  name;       /* as written */
    ngx_str_t                  quoted;
    ngx_http_complex_value_t   value;
} ngx_http_epro_column_t;


/* longer epro_column values are refused: a header is no place for data */
#define NGX_HTTP_EPRO_COLUMN_MAX     1024


typedef struct {
    ngx_uint_t                 max_submissions;
    ngx_flag_t                 submit;
    epro_instruments_t        *instruments;
    ngx_uint_t                 policy;
    ngx_uint_t                 effective_policy;
    ngx_msec_t                 clock_skew;     /* or NGX_HTTP_EPRO_OFF */
    ngx_msec_t                 max_age;        /* or NGX_HTTP_EPRO_OFF */
    ngx_array_t               *binds;  /* of ngx_http_epro_bind_t, or NULL */
    ngx_array_t               *columns;    /* of ngx_http_epro_column_t,
                                              or NULL */
    ngx_str_t                  pass;       /* epro_pass: a database */
    ngx_str_t                  table;      /* epro_table, quoted */
    ngx_http_epro_db_t        *db;         /* epro_submit: resolved */
    ngx_http_epro_table_t     *dbtable;    /* epro_submit: resolved */
    /* set in this location's own block, not inherited */
    unsigned                   pass_here:1;
    unsigned                   table_here:1;

    /* epro_submit fhir: a FHIR QuestionnaireResponse intake */
    ngx_flag_t                 fhir;
    ngx_str_t                  location;   /* a prefix location's name, the
                                              base; empty: none */
    epro_fhir_set_t           *questionnaires;
    ngx_uint_t                 q_policy;
    ngx_uint_t                 q_effective_policy;
    ngx_http_complex_value_t  *study;      /* for resources without one */
    ngx_http_complex_value_t  *site;
    ngx_http_complex_value_t  *visit;
    /* [base]/metadata: the CapabilityStatement, made once, in two
     * halves around implementation.url (the request's scheme and host) */
    ngx_str_t                  meta_head;
    ngx_str_t                  meta_tail;
} ngx_http_epro_loc_conf_t;


/* an entry of a FHIR Bundle, for the answer after the commit */
typedef struct {
    ngx_int_t                  sub;        /* its row in req.subs and ids
                                              (a repeat: the first's);
                                              -1: refused */
    ngx_uint_t                 status;     /* 0: queued, 200: a repeat of
                                              an earlier entry; 400, 422:
                                              refused (a batch) */
    ngx_str_t                  outcome;    /* refused: an
                                              OperationOutcome */
} ngx_http_epro_entry_t;


/* one request; lives in the request pool */
typedef struct {
    ngx_http_request_t        *request;
    ngx_http_epro_waiter_t     waiter;     /* its part in the queue */
    epro_request_t             req;        /* req.subs: only until queued */
    u_char                    *ids;        /* nsubs x EPRO_UUID_LEN */
    ngx_chain_t               *problem;    /* replaces an nginx error page */
    ngx_str_t                 *bound;      /* epro_bind values, as binds */
    epro_str_t                *extra;      /* epro_column values, or NULL */
    ngx_uint_t                 result;
    ngx_uint_t                 accepted;

    /* FHIR: the checked resource, then what the answer needs of it */
    epro_fhir_request_t       *fhir;
    ngx_str_t                  head;       /* Prefer: return=representation: */
    epro_fhir_parts_t          parts;      /* the head, then these runs */
    ngx_str_t                  base;       /* a prefix location's FHIR
                                              base; data NULL: none */
    ngx_str_t                  read_id;    /* READ: the id in the URI */
    ngx_str_t                  read_version;   /* READ: after _history/,
                                                  or empty */
    ngx_http_epro_lookup_t    *lookup;     /* READ: its part in the queue */
    const char                *prefer_applied;  /* return=..., or NULL */

    /* FHIR Bundle: its entries in order, and how many of them were */
    ngx_http_epro_entry_t     *entries;
    ngx_uint_t                 nentries;
    ngx_uint_t                 refused;    /* answered 4xx, not stored */
    ngx_uint_t                 repeated;   /* an earlier entry's id */

    /* the module sent the response itself: the filters let it through */
    unsigned                   answered:1;
    /* the body filter has sent ctx->problem instead of nginx's page */
    unsigned                   replaced:1;
    /* parts' runs point into nginx's body buffer: it is not dropped */
    unsigned                   keep_body:1;
    /* the body was a FHIR Bundle, of type batch or transaction */
    unsigned                   bundle:1;
    unsigned                   batch:1;

    /*
     * NGX_HTTP_EPRO_FHIR_*: what Prefer asks, and which interaction the
     * URI is.  Bits, as every byte of the context counts: a 4 KB body
     * fills the request pool's first block, and 16 bytes more took two
     * heap calls (bench/NOTES.md, thirteenth session)
     */
    unsigned                   prefer:2;
    unsigned                   route:2;
} ngx_http_epro_ctx_t;


ngx_int_t ngx_http_epro_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_EPRO_HANDLER_H_INCLUDED_ */
