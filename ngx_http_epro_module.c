
/*
 * ngx_http_epro_module: directives, configuration and the worker's
 * lifetime.  The request path is in src/ngx/ngx_http_epro_handler.c, the
 * database side in src/ngx/ngx_http_epro_pg.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_epro.h"
#include "ngx_http_epro_body.h"
#include "ngx_http_epro_fhir.h"
#include "ngx_http_epro_handler.h"
#include "ngx_http_epro_metrics.h"
#include "ngx_http_epro_pg.h"
#include "ngx_http_epro_queue.h"
#include "ngx_http_epro_reply.h"
#include "ngx_http_epro_status.h"
#include "ngx_http_epro_variables.h"


typedef struct {
    ngx_str_t                  name;
    size_t                     offset;
} ngx_http_epro_member_t;


typedef struct {
    ngx_str_t                  name;
    ngx_conf_num_bounds_t     *bounds;     /* a number, or NULL */
    size_t                     offset;     /* in ngx_http_epro_db_t */
    ngx_uint_t                 type;       /* of the value, below */
} ngx_http_epro_param_t;


#define NGX_HTTP_EPRO_PARAM_NUM   0
#define NGX_HTTP_EPRO_PARAM_SIZE  1
#define NGX_HTTP_EPRO_PARAM_MSEC  2
#define NGX_HTTP_EPRO_PARAM_STMT  3


static ngx_int_t ngx_http_epro_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_epro_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_epro_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_epro_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_epro_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_epro_submit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_epro_status_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_epro_conninfo(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_epro_table(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_epro_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_epro_database_param(ngx_conf_t *cf,
    ngx_http_epro_db_t *db, ngx_str_t *arg);
static char *ngx_http_epro_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_http_epro_db_t *ngx_http_epro_db_find(
    ngx_http_epro_main_conf_t *emcf, ngx_str_t *name);
static ngx_http_epro_db_t *ngx_http_epro_db_add(ngx_conf_t *cf,
    ngx_http_epro_main_conf_t *emcf, ngx_str_t *name);
static ngx_http_epro_table_t *ngx_http_epro_db_table(ngx_conf_t *cf,
    ngx_http_epro_db_t *db, ngx_str_t *name, ngx_array_t *columns);
static char *ngx_http_epro_bounds(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_epro_instruments(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static u_char *ngx_http_epro_read_conf_file(ngx_conf_t *cf, ngx_str_t *name,
    size_t *len);
static char *ngx_http_epro_questionnaires(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_epro_questionnaire_file(ngx_conf_t *cf,
    epro_fhir_set_t *set, ngx_str_t *name);
static int ngx_libc_cdecl ngx_http_epro_cmp_names(const void *one,
    const void *two);
static char *ngx_http_epro_time_or_off(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_epro_bind(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_epro_column(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_epro_conf_alloc(void *ctx, size_t size);
static ngx_int_t ngx_http_epro_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_epro_init_process(ngx_cycle_t *cycle);
static void ngx_http_epro_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_epro_statements[] = {
    { ngx_string("prepared"), NGX_HTTP_EPRO_PG_PREPARED },
    { ngx_string("unnamed"), NGX_HTTP_EPRO_PG_UNNAMED },
    { ngx_null_string, 0 }
};


/* like ngx_conf_check_num_bounds, but nginx names the directive */

static ngx_conf_num_bounds_t  ngx_http_epro_pool_size_bounds = {
    ngx_http_epro_bounds, 1, 256
};

static ngx_conf_num_bounds_t  ngx_http_epro_rows_bounds = {
    ngx_http_epro_bounds, 1, 100000
};

static ngx_conf_num_bounds_t  ngx_http_epro_queue_bounds = {
    ngx_http_epro_bounds, 1, 10000000
};


static ngx_conf_enum_t  ngx_http_epro_policies[] = {
    { ngx_string("off"), EPRO_POLICY_OFF },
    { ngx_string("known"), EPRO_POLICY_KNOWN },
    { ngx_string("strict"), EPRO_POLICY_STRICT },
    { ngx_null_string, 0 }
};


/* the members epro_bind can tie to a value */

static ngx_http_epro_member_t  ngx_http_epro_members[] = {
    { ngx_string("studyId"), offsetof(epro_submission_t, study) },
    { ngx_string("siteId"), offsetof(epro_submission_t, site) },
    { ngx_string("subjectId"), offsetof(epro_submission_t, subject) },
    { ngx_null_string, 0 }
};


/* the module's own columns: epro_column may not name them */

static ngx_str_t  ngx_http_epro_own_columns[] = {
    ngx_string("submission_id"),
    ngx_string("study_id"),
    ngx_string("site_id"),
    ngx_string("subject_id"),
    ngx_string("visit_name"),
    ngx_string("instrument"),
    ngx_string("collected_at"),
    ngx_string("received_at"),
    ngx_string("answers"),
    ngx_string("payload"),
    ngx_string("client_addr"),
    ngx_string("fhir_status"),
    ngx_string("score"),
    ngx_null_string
};


/* epro_database's parameters, each of an http-level directive */

static ngx_http_epro_param_t  ngx_http_epro_params[] = {
    { ngx_string("pool_size"), &ngx_http_epro_pool_size_bounds,
      offsetof(ngx_http_epro_db_t, pool_size), NGX_HTTP_EPRO_PARAM_NUM },
    { ngx_string("timeout"), NULL,
      offsetof(ngx_http_epro_db_t, timeout), NGX_HTTP_EPRO_PARAM_MSEC },
    { ngx_string("statement"), NULL,
      offsetof(ngx_http_epro_db_t, statement), NGX_HTTP_EPRO_PARAM_STMT },
    { ngx_string("batch_max_rows"), &ngx_http_epro_rows_bounds,
      offsetof(ngx_http_epro_db_t, batch_max_rows), NGX_HTTP_EPRO_PARAM_NUM },
    { ngx_string("batch_max_bytes"), NULL,
      offsetof(ngx_http_epro_db_t, batch_max_bytes),
      NGX_HTTP_EPRO_PARAM_SIZE },
    { ngx_string("batch_max_delay"), NULL,
      offsetof(ngx_http_epro_db_t, batch_max_delay),
      NGX_HTTP_EPRO_PARAM_MSEC },
    { ngx_string("queue_max_rows"), &ngx_http_epro_queue_bounds,
      offsetof(ngx_http_epro_db_t, queue_max_rows), NGX_HTTP_EPRO_PARAM_NUM },
    { ngx_string("queue_max_bytes"), NULL,
      offsetof(ngx_http_epro_db_t, queue_max_bytes),
      NGX_HTTP_EPRO_PARAM_SIZE },
    { ngx_null_string, NULL, 0, 0 }
};


static ngx_command_t  ngx_http_epro_commands[] = {

    { ngx_string("epro_submit"),
      NGX_HTTP_LOC_CONF|NGX_HTTP_LIF_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_epro_submit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_epro_status_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_max_submissions"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, max_submissions),
      &ngx_http_epro_rows_bounds },

    { ngx_string("epro_instruments"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_instruments,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_instrument_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, policy),
      &ngx_http_epro_policies },

    { ngx_string("epro_questionnaires"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_questionnaires,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_questionnaire_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, q_policy),
      &ngx_http_epro_policies },

    { ngx_string("epro_study"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, study),
      NULL },

    { ngx_string("epro_site"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, site),
      NULL },

    { ngx_string("epro_visit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, visit),
      NULL },

    { ngx_string("epro_clock_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_time_or_off,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, clock_skew),
      NULL },

    { ngx_string("epro_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_time_or_off,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_epro_loc_conf_t, max_age),
      NULL },

    { ngx_string("epro_bind"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_epro_bind,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_column"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_epro_column,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_pg_conninfo"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_conninfo,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, conninfo),
      NULL },

    { ngx_string("epro_pg_pool_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, pool_size),
      &ngx_http_epro_pool_size_bounds },

    { ngx_string("epro_pg_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, timeout),
      NULL },

    { ngx_string("epro_pg_statement"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, statement),
      &ngx_http_epro_statements },

    { ngx_string("epro_table"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_table,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_epro_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_pass"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_epro_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("epro_batch_max_rows"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, batch_max_rows),
      &ngx_http_epro_rows_bounds },

    { ngx_string("epro_batch_max_delay"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, batch_max_delay),
      NULL },

    { ngx_string("epro_queue_max_rows"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, queue_max_rows),
      &ngx_http_epro_queue_bounds },

    { ngx_string("epro_batch_max_bytes"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, batch_max_bytes),
      NULL },

    { ngx_string("epro_queue_max_bytes"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_epro_main_conf_t, queue_max_bytes),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_epro_module_ctx = {
    ngx_http_epro_variables_add,           /* preconfiguration */
    ngx_http_epro_postconfiguration,       /* postconfiguration */

    ngx_http_epro_create_main_conf,        /* create main configuration */
    ngx_http_epro_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_epro_create_loc_conf,         /* create location configuration */
    ngx_http_epro_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_epro_module = {
    NGX_MODULE_V1,
    &ngx_http_epro_module_ctx,             /* module context */
    ngx_http_epro_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_epro_init_module,             /* init module */
    ngx_http_epro_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_epro_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_epro_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_epro_main_conf_t  *emcf;

    emcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_epro_main_conf_t));
    if (emcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     emcf->conninfo = { 0, NULL };
     *     emcf->named = 0;
     *     emcf->enabled = 0;
     *     emcf->zone = NULL;
     */

    if (ngx_array_init(&emcf->databases, cf->pool, 2,
                       sizeof(ngx_http_epro_db_t *))
        != NGX_OK)
    {
        return NULL;
    }

    emcf->pool_size = NGX_CONF_UNSET_UINT;
    emcf->batch_max_rows = NGX_CONF_UNSET_UINT;
    emcf->queue_max_rows = NGX_CONF_UNSET_UINT;
    emcf->batch_max_delay = NGX_CONF_UNSET_MSEC;
    emcf->batch_max_bytes = NGX_CONF_UNSET_SIZE;
    emcf->queue_max_bytes = NGX_CONF_UNSET_SIZE;
    emcf->timeout = NGX_CONF_UNSET_MSEC;
    emcf->statement = NGX_CONF_UNSET_UINT;

    return emcf;
}


static char *
ngx_http_epro_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_epro_main_conf_t  *emcf = conf;

    ngx_str_t            name;
    ngx_uint_t           i;
    ngx_http_epro_db_t  *db, **dbs;

    ngx_conf_init_uint_value(emcf->pool_size, 4);
    ngx_conf_init_uint_value(emcf->batch_max_rows, 500);
    ngx_conf_init_uint_value(emcf->queue_max_rows, 10000);
    ngx_conf_init_msec_value(emcf->batch_max_delay, 0);
    ngx_conf_init_size_value(emcf->batch_max_bytes, 256 * 1024);
    ngx_conf_init_size_value(emcf->queue_max_bytes, 2 * 1024 * 1024);
    ngx_conf_init_msec_value(emcf->timeout, 5000);
    ngx_conf_init_uint_value(emcf->statement, NGX_HTTP_EPRO_PG_PREPARED);

    /* the default database, from epro_pg_conninfo, named "default" */

    if (emcf->conninfo.data) {
        ngx_str_set(&name, "default");

        if (ngx_http_epro_db_find(emcf, &name)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"epro_pg_conninfo\" and \"epro_database "
                               "default\" both define the database "
                               "\"default\"");
            return NGX_CONF_ERROR;
        }

        db = ngx_http_epro_db_add(cf, emcf, &name);
        if (db == NULL) {
            return NGX_CONF_ERROR;
        }

        db->conninfo = emcf->conninfo;
    }

    if (emcf->databases.nelts > NGX_HTTP_EPRO_MAX_DBS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many databases: at most %d",
                           NGX_HTTP_EPRO_MAX_DBS);
        return NGX_CONF_ERROR;
    }

    /* a parameter an epro_database line leaves out is the http level's */

    dbs = emcf->databases.elts;

    for (i = 0; i < emcf->databases.nelts; i++) {
        db = dbs[i];

        ngx_conf_init_uint_value(db->pool_size, emcf->pool_size);
        ngx_conf_init_uint_value(db->batch_max_rows, emcf->batch_max_rows);
        ngx_conf_init_uint_value(db->queue_max_rows, emcf->queue_max_rows);
        ngx_conf_init_msec_value(db->batch_max_delay,
                                 emcf->batch_max_delay);
        ngx_conf_init_size_value(db->batch_max_bytes,
                                 emcf->batch_max_bytes);
        ngx_conf_init_size_value(db->queue_max_bytes,
                                 emcf->queue_max_bytes);
        ngx_conf_init_msec_value(db->timeout, emcf->timeout);
        ngx_conf_init_uint_value(db->statement, emcf->statement);

        db->named = emcf->named;

        /* 0 would end every batch and connection attempt at once */

        if (db->timeout == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the timeout of the database \"%V\" is 0: "
                               "\"epro_pg_timeout\" and \"timeout=\" must "
                               "be longer", &db->name);
            return NGX_CONF_ERROR;
        }
    }

    if (emcf->enabled || emcf->metrics) {
        emcf->zone = ngx_http_epro_metrics_add_zone(cf, &ngx_http_epro_module);
        if (emcf->zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* once every location chose its table: the INSERTs of each database */

static ngx_int_t
ngx_http_epro_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_epro_db_t        **dbs;
    ngx_http_epro_main_conf_t  *emcf;

    emcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_epro_module);

    dbs = emcf->databases.elts;

    for (i = 0; i < emcf->databases.nelts; i++) {
        if (dbs[i]->tables.nelts
            && ngx_http_epro_pg_sql(cf, dbs[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_epro_reply_filter_init(cf);
}


static void *
ngx_http_epro_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_epro_loc_conf_t  *elcf;

    elcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_epro_loc_conf_t));
    if (elcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     elcf->submit = 0;
     *     elcf->pass = { 0, NULL };
     *     elcf->table = { 0, NULL };
     *     elcf->db = NULL;
     *     elcf->dbtable = NULL;
     *     elcf->pass_here = 0;
     *     elcf->table_here = 0;
     */

    elcf->max_submissions = NGX_CONF_UNSET_UINT;
    elcf->instruments = NGX_CONF_UNSET_PTR;
    elcf->policy = NGX_CONF_UNSET_UINT;
    elcf->clock_skew = NGX_CONF_UNSET_MSEC;
    elcf->max_age = NGX_CONF_UNSET_MSEC;
    elcf->binds = NGX_CONF_UNSET_PTR;
    elcf->columns = NGX_CONF_UNSET_PTR;
    elcf->questionnaires = NGX_CONF_UNSET_PTR;
    elcf->q_policy = NGX_CONF_UNSET_UINT;
    elcf->study = NGX_CONF_UNSET_PTR;
    elcf->site = NGX_CONF_UNSET_PTR;
    elcf->visit = NGX_CONF_UNSET_PTR;

    return elcf;
}


static char *
ngx_http_epro_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_epro_loc_conf_t  *prev = parent;
    ngx_http_epro_loc_conf_t  *conf = child;

    ngx_str_t                   name;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_epro_main_conf_t  *emcf;

    /*
     * An "if" or "limit_except" block in an epro_submit location is the
     * same endpoint (and FHIR base), unless it has a content handler of
     * its own: nginx runs the location's handler with an if block's
     * configuration, and a limit_except block's handler (none unless
     * given, as proxy_pass does) for the methods it limits.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->noname && clcf->handler == NULL && !conf->submit
        && prev->submit)
    {
        conf->submit = prev->submit;
        conf->fhir = prev->fhir;
        conf->location = prev->location;
        clcf->handler = ngx_http_epro_handler;

    } else if (conf->submit && !clcf->exact_match && !clcf->named
               && !clcf->noname
#if (NGX_PCRE)
               && clcf->regex == NULL
#endif
              )
    {
        /* a prefix location: its name is the FHIR base */
        conf->location = clcf->name;
    }

    ngx_conf_merge_uint_value(conf->max_submissions, prev->max_submissions,
                              100);
    ngx_conf_merge_ptr_value(conf->instruments, prev->instruments, NULL);
    /* unset until the end: the default depends on the file, wherever set */

    if (conf->policy == NGX_CONF_UNSET_UINT) {
        conf->policy = prev->policy;
    }

    conf->effective_policy = (conf->policy != NGX_CONF_UNSET_UINT)
                             ? conf->policy
                             : conf->instruments ? EPRO_POLICY_STRICT
                                                 : EPRO_POLICY_OFF;
    ngx_conf_merge_msec_value(conf->clock_skew, prev->clock_skew, 300000);
    ngx_conf_merge_msec_value(conf->max_age, prev->max_age,
                              NGX_HTTP_EPRO_OFF);

    /* like add_header: a block with epro_bind lines replaces the list */
    ngx_conf_merge_ptr_value(conf->binds, prev->binds, NULL);
    ngx_conf_merge_ptr_value(conf->columns, prev->columns, NULL);

    /* the FHIR side mirrors it: strict where Questionnaires are given */

    ngx_conf_merge_ptr_value(conf->questionnaires, prev->questionnaires,
                             NULL);

    if (conf->q_policy == NGX_CONF_UNSET_UINT) {
        conf->q_policy = prev->q_policy;
    }

    conf->q_effective_policy = (conf->q_policy != NGX_CONF_UNSET_UINT)
                               ? conf->q_policy
                               : conf->questionnaires ? EPRO_POLICY_STRICT
                                                      : EPRO_POLICY_OFF;

    ngx_conf_merge_ptr_value(conf->study, prev->study, NULL);
    ngx_conf_merge_ptr_value(conf->site, prev->site, NULL);
    ngx_conf_merge_ptr_value(conf->visit, prev->visit, NULL);

    if (conf->fhir && conf->q_effective_policy != EPRO_POLICY_OFF
        && conf->questionnaires == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"epro_questionnaire_policy\" other than "
                           "\"off\" needs \"epro_questionnaires\"");
        return NGX_CONF_ERROR;
    }

    if (conf->submit && !conf->fhir
        && conf->effective_policy != EPRO_POLICY_OFF
        && conf->instruments == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"epro_instrument_policy\" other than \"off\" "
                           "needs \"epro_instruments\"");
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_str_value(conf->pass, prev->pass, "");
    ngx_conf_merge_str_value(conf->table, prev->table,
                             "\"epro_submissions\"");

    /* written in a location, they would do nothing there: a mistake */

    if (!conf->submit && (conf->pass_here || conf->table_here)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" in a location without \"epro_submit\"",
                           conf->pass_here ? "epro_pass" : "epro_table");
        return NGX_CONF_ERROR;
    }

    if (!conf->submit) {
        return NGX_CONF_OK;
    }

    /* resolved once here: the request path never looks a name up */

    emcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_epro_module);

    if (conf->pass.len) {
        conf->db = ngx_http_epro_db_find(emcf, &conf->pass);

        if (conf->db == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown database \"%V\" in \"epro_pass\"",
                               &conf->pass);
            return NGX_CONF_ERROR;
        }

    } else {
        ngx_str_set(&name, "default");
        conf->db = ngx_http_epro_db_find(emcf, &name);

        if (conf->db == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"epro_submit\" is used but "
                               "\"epro_pg_conninfo\" is not set "
                               "(nor \"epro_pass\")");
            return NGX_CONF_ERROR;
        }
    }

    conf->dbtable = ngx_http_epro_db_table(cf, conf->db, &conf->table,
                                           conf->columns);
    if (conf->dbtable == NULL) {
        return NGX_CONF_ERROR;
    }

    if (conf->fhir && ngx_http_epro_fhir_meta_init(cf, conf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* GET [base]/QuestionnaireResponse/<id>: its SELECT is prepared too */

    if (conf->fhir == 1) {
        conf->dbtable->reads = 1;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_epro_submit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    ngx_str_t                  *value;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_epro_main_conf_t  *emcf;

    if (elcf->submit) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (value[1].len != 4
            || ngx_strncmp(value[1].data, "fhir", 4) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\": "
                               "expected \"fhir\" or nothing",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }

        elcf->fhir = 1;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_epro_status_handler) {
        return "cannot be used with \"epro_status\" in one location";
    }

    elcf->submit = 1;
    clcf->handler = ngx_http_epro_handler;

    emcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_epro_module);
    emcf->enabled = 1;

    return NGX_CONF_OK;
}


/* the definitions file, read and indexed once per configuration */

static char *
ngx_http_epro_instruments(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    char                 err[256];
    u_char              *text;
    size_t               len;
    ngx_str_t           *value, name;
    epro_alloc_t         alloc;
    epro_instruments_t  *set;

    if (elcf->instruments != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    text = ngx_http_epro_read_conf_file(cf, &name, &len);
    if (text == NULL) {
        return NGX_CONF_ERROR;
    }

    set = ngx_palloc(cf->pool, sizeof(epro_instruments_t));
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    alloc.alloc = ngx_http_epro_conf_alloc;
    alloc.free = NULL;
    alloc.ctx = cf->pool;

    if (epro_instruments_load(set, (char *) text, len, err,
                              sizeof(err), &alloc)
        != EPRO_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid instruments file \"%s\": %s",
                           name.data, err);
        return NGX_CONF_ERROR;
    }

    elcf->instruments = set;

    return NGX_CONF_OK;
}


/* a whole file (at most 16M) in the configuration's pool, or NULL */

static u_char *
ngx_http_epro_read_conf_file(ngx_conf_t *cf, ngx_str_t *name, size_t *len)
{
    u_char           *text;
    ssize_t           n;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *name;
    file.log = cf->log;

    file.fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", name->data);
        return NULL;
    }

    text = NULL;
    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) < 16 * 1024 * 1024)
    {
        text = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);

        if (text) {
            n = ngx_read_file(&file, text, (size_t) ngx_file_size(&fi), 0);
        }
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%s\" failed", name->data);
    }

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read \"%s\" (at most 16M)", name->data);
        return NULL;
    }

    *len = (size_t) n;

    return text;
}


/*
 * FHIR Questionnaires: one file (a Questionnaire or a Bundle of them),
 * or a directory of *.json files, read in name order (a later version
 * of a url is the one a bare url finds)
 */

static char *
ngx_http_epro_questionnaires(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    u_char            *p;
    size_t             len;
    ngx_dir_t          dir;
    ngx_str_t         *value, name, *file;
    ngx_uint_t         i;
    ngx_array_t        files;
    ngx_file_info_t    fi;
    epro_fhir_set_t   *set;

    if (elcf->questionnaires != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    set = ngx_pcalloc(cf->pool, sizeof(epro_fhir_set_t));
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_file_info(name.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_file_info_n " \"%s\" failed", name.data);
        return NGX_CONF_ERROR;
    }

    if (!ngx_is_dir(&fi)) {
        if (ngx_http_epro_questionnaire_file(cf, set, &name) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        elcf->questionnaires = set;

        return NGX_CONF_OK;
    }

    if (ngx_array_init(&files, cf->temp_pool, 8, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_open_dir(&name, &dir) == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_dir_n " \"%s\" failed", name.data);
        return NGX_CONF_ERROR;
    }

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            if (ngx_errno != NGX_ENOMOREFILES) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                                   ngx_read_dir_n " \"%s\" failed",
                                   name.data);
                (void) ngx_close_dir(&dir);
                return NGX_CONF_ERROR;
            }

            break;
        }

        len = ngx_de_namelen(&dir);
        p = ngx_de_name(&dir);

        if (len < 6 || p[0] == '.'
            || ngx_strncmp(p + len - 5, ".json", 5) != 0)
        {
            continue;
        }

        file = ngx_array_push(&files);
        if (file == NULL) {
            (void) ngx_close_dir(&dir);
            return NGX_CONF_ERROR;
        }

        file->len = name.len + 1 + len;
        file->data = ngx_pnalloc(cf->temp_pool, file->len + 1);

        if (file->data == NULL) {
            (void) ngx_close_dir(&dir);
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(file->data, "%V/%*s%Z", &name, len, p);
    }

    if (ngx_close_dir(&dir) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_dir_n " \"%s\" failed", name.data);
    }

    if (files.nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no *.json file in \"%s\"", name.data);
        return NGX_CONF_ERROR;
    }

    ngx_qsort(files.elts, files.nelts, sizeof(ngx_str_t),
              ngx_http_epro_cmp_names);

    file = files.elts;

    for (i = 0; i < files.nelts; i++) {
        if (ngx_http_epro_questionnaire_file(cf, set, &file[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    elcf->questionnaires = set;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_epro_questionnaire_file(ngx_conf_t *cf, epro_fhir_set_t *set,
    ngx_str_t *name)
{
    int            rc;
    char           err[256];
    u_char        *text;
    size_t         len;
    epro_alloc_t   alloc;

    text = ngx_http_epro_read_conf_file(cf, name, &len);
    if (text == NULL) {
        return NGX_ERROR;
    }

    alloc.alloc = ngx_http_epro_conf_alloc;
    alloc.free = NULL;
    alloc.ctx = cf->pool;

    rc = epro_fhir_load(set, (char *) text, len, err, sizeof(err), &alloc);

    if (rc != EPRO_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Questionnaire file \"%s\": %s",
                           name->data,
                           rc == EPRO_NOMEM ? "out of memory" : err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_epro_cmp_names(const void *one, const void *two)
{
    const ngx_str_t  *a = one;
    const ngx_str_t  *b = two;

    return ngx_strcmp(a->data, b->data);
}


/* a time, or "off" */

static char *
ngx_http_epro_time_or_off(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t   *value;
    ngx_msec_t  *msp;

    msp = (ngx_msec_t *) (p + cmd->offset);

    if (*msp != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *msp = NGX_HTTP_EPRO_OFF;
        return NGX_CONF_OK;
    }

    *msp = ngx_parse_time(&value[1], 0);

    if (*msp == (ngx_msec_t) NGX_ERROR) {
        return "invalid value";
    }

    return NGX_CONF_OK;
}


/* epro_bind member value: one line per member and block */

static char *
ngx_http_epro_bind(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_epro_bind_t              *bind;
    ngx_http_epro_member_t            *m;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    for (m = ngx_http_epro_members; m->name.len; m++) {
        if (m->name.len == value[1].len
            && ngx_strncmp(m->name.data, value[1].data, value[1].len) == 0)
        {
            break;
        }
    }

    if (m->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown member \"%V\" in \"%V\": expected "
                           "studyId, siteId or subjectId",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* a constant "" would refuse every request: surely a mistake */

    if (value[2].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty value for \"%V\" in \"%V\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (elcf->binds == NGX_CONF_UNSET_PTR) {
        elcf->binds = ngx_array_create(cf->pool, 3,
                                       sizeof(ngx_http_epro_bind_t));
        if (elcf->binds == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    bind = elcf->binds->elts;

    for (i = 0; i < elcf->binds->nelts; i++) {
        if (bind[i].offset == m->offset) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate \"%V\" for \"%V\"",
                               &cmd->name, &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    bind = ngx_array_push(elcf->binds);
    if (bind == NULL) {
        return NGX_CONF_ERROR;
    }

    bind->member = m->name;
    bind->offset = m->offset;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &bind->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * epro_column column value: the column is an SQL identifier without
 * quotes, as a table name is, kept quoted; one line per column and block,
 * a block with any has only its own (like epro_bind).
 */

static char *
ngx_http_epro_column(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    u_char                            *p, c;
    ngx_str_t                         *value, *own;
    ngx_uint_t                         i;
    ngx_http_epro_column_t            *col;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 63) {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (i > 0 && c >= '0' && c <= '9')))
        {
            goto invalid;
        }
    }

    for (own = ngx_http_epro_own_columns; own->len; own++) {
        if (own->len == value[1].len
            && ngx_strncmp(own->data, value[1].data, own->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "column \"%V\" in \"%V\" is one of the "
                               "module's own", &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    if (elcf->columns == NGX_CONF_UNSET_PTR) {
        elcf->columns = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_epro_column_t));
        if (elcf->columns == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    col = elcf->columns->elts;

    for (i = 0; i < elcf->columns->nelts; i++) {
        if (col[i].name.len == value[1].len
            && ngx_strncmp(col[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate \"%V\" for \"%V\"",
                               &cmd->name, &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (elcf->columns->nelts == EPRO_MAX_EXTRA) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "more than %d \"%V\" lines in a block",
                           EPRO_MAX_EXTRA, &cmd->name);
        return NGX_CONF_ERROR;
    }

    col = ngx_array_push(elcf->columns);
    if (col == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, value[1].len + 2);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    col->name = value[1];
    col->quoted.data = p;
    *p++ = '"';
    p = ngx_cpymem(p, value[1].data, value[1].len);
    *p++ = '"';
    col->quoted.len = p - col->quoted.data;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &col->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid column name \"%V\" in \"%V\": expected "
                       "letters, digits and underscores", &value[1],
                       &cmd->name);

    return NGX_CONF_ERROR;
}


static void *
ngx_http_epro_conf_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


static char *
ngx_http_epro_conninfo(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_main_conf_t  *emcf = conf;

    char  *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (ngx_http_epro_pg_check_conninfo(cf, &emcf->conninfo) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_epro_status_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_epro_main_conf_t  *emcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    /* one content handler a location: the other would be unreachable */

    if (clcf->handler == ngx_http_epro_handler) {
        return "cannot be used with \"epro_submit\" in one location";
    }

    clcf->handler = ngx_http_epro_status_handler;

    emcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_epro_module);
    emcf->metrics = 1;

    return NGX_CONF_OK;
}


/*
 * "name" or "schema.name", each part an SQL identifier without quotes;
 * kept quoted, so it is used exactly as written.
 */

static char *
ngx_http_epro_table(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    u_char      *p, *q, c;
    ngx_str_t   *value;
    ngx_uint_t   i, part, dots;

    if (elcf->table.data) {
        return "is duplicate";
    }

    elcf->table_here = (cf->cmd_type == NGX_HTTP_LOC_CONF);

    value = cf->args->elts;

    part = 0;
    dots = 0;

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (c == '.') {
            if (part == 0 || ++dots > 1) {
                goto invalid;
            }

            part = 0;
            continue;
        }

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (part > 0 && c >= '0' && c <= '9')))
        {
            goto invalid;
        }

        if (++part > 63) {
            goto invalid;
        }
    }

    if (part == 0) {
        goto invalid;
    }

    p = ngx_pnalloc(cf->pool, value[1].len + 4);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    elcf->table.data = p;
    *p++ = '"';

    for (q = value[1].data; q < value[1].data + value[1].len; q++) {
        if (*q == '.') {
            *p++ = '"';
            *p++ = '.';
            *p++ = '"';

        } else {
            *p++ = *q;
        }
    }

    *p++ = '"';
    elcf->table.len = p - elcf->table.data;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid table name \"%V\" in \"%V\": expected "
                       "name or schema.name, letters, digits and "
                       "underscores", &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


/*
 * epro_database NAME CONNINFO [param=value ...]: like an upstream block,
 * on one line; the name goes into metric labels and log lines.
 */

static char *
ngx_http_epro_database(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_main_conf_t  *emcf = conf;

    char                *rv;
    u_char               c;
    ngx_str_t           *value;
    ngx_uint_t           i;
    ngx_http_epro_db_t  *db;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len >= NGX_HTTP_EPRO_DB_NAME_LEN) {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        c = value[1].data[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        {
            goto invalid;
        }
    }

    if (ngx_http_epro_db_find(emcf, &value[1])) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate database \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_epro_pg_check_conninfo(cf, &value[2]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    db = ngx_http_epro_db_add(cf, emcf, &value[1]);
    if (db == NULL) {
        return NGX_CONF_ERROR;
    }

    db->conninfo = value[2];
    emcf->named = 1;

    for (i = 3; i < cf->args->nelts; i++) {
        rv = ngx_http_epro_database_param(cf, db, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid database name \"%V\" in \"%V\": expected "
                       "1 to %d letters, digits, \"_\" or \"-\"",
                       &value[1], &cmd->name, NGX_HTTP_EPRO_DB_NAME_LEN - 1);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_epro_database_param(ngx_conf_t *cf, ngx_http_epro_db_t *db,
    ngx_str_t *arg)
{
    u_char                 *p;
    ngx_str_t               v;
    ngx_int_t               n;
    ngx_conf_enum_t        *e;
    ngx_http_epro_param_t  *param;

    p = ngx_strlchr(arg->data, arg->data + arg->len, '=');

    for (param = ngx_http_epro_params; p && param->name.len; param++) {
        if (param->name.len == (size_t) (p - arg->data)
            && ngx_strncmp(param->name.data, arg->data, param->name.len)
               == 0)
        {
            break;
        }
    }

    if (p == NULL || param->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"epro_database\"",
                           arg);
        return NGX_CONF_ERROR;
    }

    v.data = p + 1;
    v.len = arg->data + arg->len - v.data;
    p = (u_char *) db + param->offset;

    switch (param->type) {

    case NGX_HTTP_EPRO_PARAM_NUM:
        n = ngx_atoi(v.data, v.len);

        if (n == NGX_ERROR || n < param->bounds->low
            || n > param->bounds->high)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" in \"epro_database\" must be "
                               "between %i and %i", &param->name,
                               param->bounds->low, param->bounds->high);
            return NGX_CONF_ERROR;
        }

        *(ngx_uint_t *) p = (ngx_uint_t) n;
        return NGX_CONF_OK;

    case NGX_HTTP_EPRO_PARAM_SIZE:
        *(size_t *) p = ngx_parse_size(&v);

        if (*(size_t *) p == (size_t) NGX_ERROR) {
            break;
        }

        return NGX_CONF_OK;

    case NGX_HTTP_EPRO_PARAM_MSEC:
        *(ngx_msec_t *) p = ngx_parse_time(&v, 0);

        if (*(ngx_msec_t *) p == (ngx_msec_t) NGX_ERROR) {
            break;
        }

        return NGX_CONF_OK;

    default: /* NGX_HTTP_EPRO_PARAM_STMT */
        for (e = ngx_http_epro_statements; e->name.len; e++) {
            if (e->name.len == v.len
                && ngx_strncmp(e->name.data, v.data, v.len) == 0)
            {
                *(ngx_uint_t *) p = e->value;
                return NGX_CONF_OK;
            }
        }

        break;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"epro_database\"", arg);

    return NGX_CONF_ERROR;
}


/* epro_pass NAME: the database of an epro_submit location */

static char *
ngx_http_epro_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_epro_loc_conf_t  *elcf = conf;

    ngx_str_t  *value;

    if (elcf->pass.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* checked when the locations are merged: it may be defined later */

    elcf->pass = value[1];
    elcf->pass_here = (cf->cmd_type == NGX_HTTP_LOC_CONF);

    return NGX_CONF_OK;
}


static ngx_http_epro_db_t *
ngx_http_epro_db_find(ngx_http_epro_main_conf_t *emcf, ngx_str_t *name)
{
    ngx_uint_t            i;
    ngx_http_epro_db_t  **dbs;

    dbs = emcf->databases.elts;

    for (i = 0; i < emcf->databases.nelts; i++) {
        if (dbs[i]->name.len == name->len
            && ngx_strncmp(dbs[i]->name.data, name->data, name->len) == 0)
        {
            return dbs[i];
        }
    }

    return NULL;
}


/* a database, its parameters unset until the http level is known */

static ngx_http_epro_db_t *
ngx_http_epro_db_add(ngx_conf_t *cf, ngx_http_epro_main_conf_t *emcf,
    ngx_str_t *name)
{
    ngx_http_epro_db_t  *db, **dbp;

    db = ngx_pcalloc(cf->pool, sizeof(ngx_http_epro_db_t));
    if (db == NULL) {
        return NULL;
    }

    if (ngx_array_init(&db->tables, cf->pool, 2,
                       sizeof(ngx_http_epro_table_t *))
        != NGX_OK)
    {
        return NULL;
    }

    db->name = *name;
    db->pool_size = NGX_CONF_UNSET_UINT;
    db->batch_max_rows = NGX_CONF_UNSET_UINT;
    db->queue_max_rows = NGX_CONF_UNSET_UINT;
    db->batch_max_delay = NGX_CONF_UNSET_MSEC;
    db->batch_max_bytes = NGX_CONF_UNSET_SIZE;
    db->queue_max_bytes = NGX_CONF_UNSET_SIZE;
    db->timeout = NGX_CONF_UNSET_MSEC;
    db->statement = NGX_CONF_UNSET_UINT;

    dbp = ngx_array_push(&emcf->databases);
    if (dbp == NULL) {
        return NULL;
    }

    *dbp = db;

    return db;
}


/*
 * The database's entry for a table and its extra columns: one INSERT for
 * all the locations that write the same columns, in the same order.
 */

static ngx_http_epro_table_t *
ngx_http_epro_db_table(ngx_conf_t *cf, ngx_http_epro_db_t *db,
    ngx_str_t *name, ngx_array_t *columns)
{
    ngx_uint_t               i, k, n;
    ngx_http_epro_column_t  *col;
    ngx_http_epro_table_t  **tables, *t;

    tables = db->tables.elts;
    col = columns ? columns->elts : NULL;
    n = columns ? columns->nelts : 0;

    for (i = 0; i < db->tables.nelts; i++) {
        t = tables[i];

        if (t->name.len != name->len
            || ngx_strncmp(t->name.data, name->data, name->len) != 0
            || t->ncolumns != n)
        {
            continue;
        }

        for (k = 0; k < n; k++) {
            if (t->columns[k].len != col[k].quoted.len
                || ngx_strncmp(t->columns[k].data, col[k].quoted.data,
                               col[k].quoted.len)
                   != 0)
            {
                break;
            }
        }

        if (k == n) {
            return t;
        }
    }

    t = ngx_pcalloc(cf->pool, sizeof(ngx_http_epro_table_t));
    if (t == NULL) {
        return NULL;
    }

    t->name = *name;
    t->index = db->tables.nelts;

    if (n) {
        t->columns = ngx_palloc(cf->pool, n * sizeof(ngx_str_t));
        if (t->columns == NULL) {
            return NULL;
        }

        for (k = 0; k < n; k++) {
            t->columns[k] = col[k].quoted;
        }

        t->ncolumns = n;
    }

    tables = ngx_array_push(&db->tables);
    if (tables == NULL) {
        return NULL;
    }

    *tables = t;

    return t;
}


static char *
ngx_http_epro_bounds(ngx_conf_t *cf, void *post, void *data)
{
    ngx_conf_num_bounds_t  *bounds = post;
    ngx_int_t              *np = data;

    u_char  *p;

    if (*np >= bounds->low && *np <= bounds->high) {
        return NGX_CONF_OK;
    }

    p = ngx_pnalloc(cf->pool, 64);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(p, "must be between %i and %i%Z", bounds->low, bounds->high);

    return (char *) p;
}


/* the configuration runs: the metrics zone is its own now */

static ngx_int_t
ngx_http_epro_init_module(ngx_cycle_t *cycle)
{
    ngx_http_epro_main_conf_t  *emcf;

    emcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_epro_module);

    ngx_http_epro_metrics_commit(emcf);

    return NGX_OK;
}


/* each database a location uses gets its queue and pool */

static ngx_int_t
ngx_http_epro_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_epro_db_t        **dbs;
    ngx_http_epro_main_conf_t  *emcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    emcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_epro_module);

    if (emcf == NULL || !emcf->enabled) {
        return NGX_OK;
    }

    ngx_http_epro_metrics_claim_slot();

    dbs = emcf->databases.elts;

    for (i = 0; i < emcf->databases.nelts; i++) {
        if (dbs[i]->tables.nelts
            && ngx_http_epro_queue_init_process(cycle, dbs[i]) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_epro_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_epro_db_t        **dbs;
    ngx_http_epro_main_conf_t  *emcf;

    emcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_epro_module);

    if (emcf) {
        dbs = emcf->databases.elts;

        for (i = 0; i < emcf->databases.nelts; i++) {
            ngx_http_epro_queue_exit_process(dbs[i]);
        }
    }

    ngx_http_epro_metrics_release_slot();
    ngx_http_epro_body_free();
}
