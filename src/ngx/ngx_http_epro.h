
/*
 * ngx_http_epro_module: the module and its main configuration, shared by
 * every glue file.  Plain nginx core types only: the database side reads
 * the configuration without seeing a request.
 */


#ifndef _NGX_HTTP_EPRO_H_INCLUDED_
#define _NGX_HTTP_EPRO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* nginx 1.22 has no name for it */
#define NGX_HTTP_EPRO_UNPROCESSABLE  422
#define NGX_HTTP_EPRO_NOT_ACCEPTABLE 406


/* the databases and their metrics blocks: bounded, like the zone */
#define NGX_HTTP_EPRO_MAX_DBS        16
#define NGX_HTTP_EPRO_DB_NAME_LEN    32


/*
 * A target of a database: a table and the extra columns epro_column
 * fills, with its INSERT, prepared as epro_insert_<index>.  Rows of one
 * batch share their target.  A table an epro_submit fhir location uses
 * also has its read by id, the SELECT prepared as epro_read_<index>.
 */
typedef struct {
    ngx_str_t                  name;       /* quoted: "schema"."name" */
    ngx_str_t                 *columns;    /* quoted, or NULL */
    ngx_uint_t                 ncolumns;
    ngx_str_t                  sql;        /* NUL-terminated */
    ngx_uint_t                 index;
    u_char                     stmt[NGX_INT_T_LEN + 16];
    ngx_str_t                  read_sql;   /* NUL-terminated, or empty */
    u_char                     read_stmt[NGX_INT_T_LEN + 16];
    ngx_flag_t                 reads;      /* a FHIR location reads it */
} ngx_http_epro_table_t;


typedef struct ngx_http_epro_queue_s  ngx_http_epro_queue_t;
typedef struct ngx_http_epro_pg_s     ngx_http_epro_pg_t;


/*
 * A database: epro_database NAME, or the default one of epro_pg_conninfo
 * (named "default").  Read-only once the configuration is read, except
 * for the worker's queue and pool, set at the worker's start.
 */
typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  conninfo;
    ngx_uint_t                 pool_size;
    ngx_uint_t                 batch_max_rows;
    ngx_uint_t                 queue_max_rows;
    size_t                     batch_max_bytes;
    size_t                     queue_max_bytes;
    ngx_msec_t                 batch_max_delay;
    ngx_msec_t                 timeout;
    ngx_uint_t                 statement;  /* NGX_HTTP_EPRO_PG_PREPARED
                                              or _UNNAMED */
    ngx_uint_t                 index;      /* its metrics block */
    ngx_flag_t                 named;      /* several: logs name it */
    ngx_array_t                tables;     /* of ngx_http_epro_table_t *,
                                              those its locations use */
    ngx_str_t                  setup;      /* prepared: SET; PREPARE... */

    ngx_http_epro_queue_t     *queue;      /* the worker's, or NULL */
    ngx_http_epro_pg_t        *pg;
} ngx_http_epro_db_t;


typedef struct {
    /* the default database, and the parameters' defaults for all */
    ngx_str_t                  conninfo;
    ngx_uint_t                 pool_size;
    ngx_uint_t                 batch_max_rows;
    ngx_uint_t                 queue_max_rows;
    size_t                     batch_max_bytes;
    size_t                     queue_max_bytes;
    ngx_msec_t                 batch_max_delay;
    ngx_msec_t                 timeout;
    ngx_uint_t                 statement;
    ngx_array_t                databases;  /* of ngx_http_epro_db_t * */
    ngx_flag_t                 named;      /* epro_database is used: the
                                              metrics carry the name */
    ngx_flag_t                 enabled;
    ngx_flag_t                 metrics;
    ngx_shm_zone_t            *zone;       /* the metrics', or NULL */
} ngx_http_epro_main_conf_t;


extern ngx_module_t  ngx_http_epro_module;


#endif /* _NGX_HTTP_EPRO_H_INCLUDED_ */
