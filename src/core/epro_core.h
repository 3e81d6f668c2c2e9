
/*
 * ePRO core: strict JSON check, parse, contract validation, row encoding.
 *
 * Plain C: no nginx, no libpq.  Every allocation goes through the caller's
 * epro_alloc_t, so nginx passes the request pool and unit tests pass malloc.
 */


#ifndef _EPRO_CORE_H_INCLUDED_
#define _EPRO_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>


/*
 * JSON nesting, counting the outer value: a nested question takes four
 * levels (item, its object, answer, its object), a Bundle three more
 */
#define EPRO_MAX_DEPTH          64
#define EPRO_MAX_ERRORS         20
#define EPRO_MAX_FIELD_CHARS    64
#define EPRO_MAX_ITEM_CHARS     64
#define EPRO_MAX_ANSWERS        1000
#define EPRO_MAX_ANSWER_CHARS   4096
#define EPRO_MAX_NUMBER_BYTES   64
#define EPRO_UUID_LEN           36
#define EPRO_TIME_LEN           40

/* what every core function returns */
#define EPRO_OK                 0
#define EPRO_ERROR              (-1)
#define EPRO_NOMEM              (-2)

/* why a body was refused (epro_request_t.status): the HTTP status */
#define EPRO_STATUS_BAD_JSON    400
#define EPRO_STATUS_INVALID     422

/* a JSON Pointer built by epro_path(), with room for its terminator */
#define EPRO_PATH_MAX           320


typedef struct {
    void         *(*alloc)(void *ctx, size_t size);
    void          (*free)(void *ctx, void *p);     /* may be a no-op */
    void          *ctx;
} epro_alloc_t;


typedef struct {
    const char    *data;
    size_t         len;
} epro_str_t;


typedef struct {
    char          *path;        /* JSON Pointer into the body, "" is root */
    char          *message;
} epro_error_t;


typedef struct {
    char           id[EPRO_UUID_LEN + 1];   /* lowercase, "" if generated */
    epro_str_t     study;
    epro_str_t     site;                    /* data == NULL: absent */
    epro_str_t     subject;
    epro_str_t     visit;
    epro_str_t     instrument;
    char           collected[EPRO_TIME_LEN + 1];
    epro_str_t     payload;                 /* the element's bytes as sent */
    epro_str_t     client;                  /* set by the caller, or NULL */

    /*
     * FHIR only; NULL for a native submission, whose answers the SQL
     * takes from the payload: a JSON object, a status code, a number
     */
    epro_str_t     answers;
    epro_str_t     fhir_status;
    epro_str_t     score;
} epro_submission_t;


typedef enum {
    EPRO_ITEM_INTEGER = 0,
    EPRO_ITEM_DECIMAL,
    EPRO_ITEM_STRING,
    EPRO_ITEM_BOOLEAN,
    EPRO_ITEM_CHOICE,
    EPRO_ITEM_DATE,
    EPRO_ITEM_DATETIME
} epro_item_type_e;


typedef struct {
    epro_str_t          str;        /* data == NULL: a number */
    double              num;
} epro_choice_t;


typedef struct {
    epro_str_t          id;
    epro_item_type_e    type;
    double              min;
    double              max;
    size_t              max_length; /* characters, 0: no limit */
    epro_choice_t      *choices;
    size_t              nchoices;
    unsigned            has_min:1;
    unsigned            has_max:1;
    unsigned            required:1;
    unsigned            multiple:1;
} epro_item_t;


typedef struct {
    epro_str_t          code;
    epro_str_t          version;
    epro_item_t        *items;
    size_t              nitems;
    size_t              nrequired;
    uint32_t           *index;      /* item + 1 by hash of id, 0: empty */
    size_t              mask;
    unsigned            allow_unknown:1;
} epro_instrument_t;


typedef struct {
    epro_instrument_t  *list;
    size_t              n;
    uint32_t           *index;
    size_t              mask;
} epro_instruments_t;


typedef enum {
    EPRO_POLICY_OFF = 0,        /* contract checks only */
    EPRO_POLICY_KNOWN,          /* listed instruments are checked */
    EPRO_POLICY_STRICT          /* and any other instrument is refused */
} epro_policy_e;


typedef struct {
    /* in */
    size_t                     max_submissions;
    const epro_instruments_t  *instruments;
    epro_policy_e              policy;
    int64_t                    now_ms;      /* receipt; 0: no clock checks */
    int64_t                    skew_ms;     /* < 0: no check */
    int64_t                    max_age_ms;  /* < 0: no check */

    /* out */
    int                 status;         /* EPRO_OK, EPRO_STATUS_* */
    epro_submission_t  *subs;
    size_t              nsubs;
    epro_error_t        errors[EPRO_MAX_ERRORS];
    size_t              nerrors;
    size_t              nfound;         /* all found, beyond the cap too */
    size_t              nrules;         /* of them, instrument and clock */
    unsigned            truncated:1;    /* more errors than reported */
} epro_request_t;


/* a growable byte buffer owned by whoever owns the allocator */
typedef struct {
    char           *data;
    size_t          len;
    size_t          cap;
} epro_buf_t;


/*
 * The columns of one batch, each one parameter of the INSERT: an array
 * in PostgreSQL's binary format if epro_col_oid() gives its element type
 * (text, jsonb), else an array literal (see epro_encode.c).
 */
enum {
    EPRO_COL_ID = 0,
    EPRO_COL_STUDY,
    EPRO_COL_SITE,
    EPRO_COL_SUBJECT,
    EPRO_COL_VISIT,
    EPRO_COL_INSTRUMENT,
    EPRO_COL_COLLECTED,
    EPRO_COL_RECEIVED,
    EPRO_COL_PAYLOAD,
    EPRO_COL_CLIENT,
    EPRO_COL_ANSWERS,
    EPRO_COL_FHIR_STATUS,
    EPRO_COL_SCORE,
    EPRO_NCOLS
};

/* epro_column: columns of the operator's, after the module's own */
#define EPRO_MAX_EXTRA  8
#define EPRO_MAX_COLS   (EPRO_NCOLS + EPRO_MAX_EXTRA)

#define EPRO_OID_TEXT   25
#define EPRO_OID_JSONB  3802

/* ndim, flags, element type, then the one dimension's size, lower bound */
#define EPRO_ARRAY_HEAD 20


typedef struct {
    epro_buf_t      col[EPRO_MAX_COLS];
    size_t          nrows;
    size_t          nextra;         /* used after col[EPRO_NCOLS - 1] */
} epro_rows_t;


/*
 * Strict RFC 8259 check of a whole body.  Returns EPRO_OK, EPRO_NOMEM or
 * EPRO_ERROR with one error in req and req->status set to
 * EPRO_STATUS_BAD_JSON (syntax, depth, bytes after the value) or
 * EPRO_STATUS_INVALID (a string that is not valid UTF-8, contains U+0000 or
 * an unpaired surrogate, or a number out of range).  The parsers get
 * their tree from epro_json_tree() (epro_tree.h), which holds the text to
 * the same rules and asks this scan only why a text was refused.
 */
int epro_json_check(const char *p, size_t len, epro_request_t *req,
    epro_alloc_t *a);

/*
 * The same check, also noting the text of every number in document order
 * (FHIR keeps a number as written: "1.50", "1.0" and "1e2" are not "1.5",
 * "1" and "100" there).  The spans come from a and point into p; the scan
 * that checks the numbers notes them.  The tree records each number's
 * text itself; the fuzzer (test/fuzz/fuzz_core.c) holds the two against
 * each other.
 */
typedef struct {
    epro_str_t     *span;
    size_t          n;
    size_t          cap;
} epro_numbers_t;

int epro_json_check_numbers(const char *p, size_t len, epro_request_t *req,
    epro_numbers_t *nums, epro_alloc_t *a);

/*
 * Parse (strict check, JSON tree, contract); fills req.  EPRO_ERROR: the
 * body is refused, req->status says why and req->errors where.
 */
int epro_parse(epro_request_t *req, const char *body, size_t len,
    epro_alloc_t *a);

/* adds one error; the strings are copied */
int epro_error(epro_request_t *req, epro_alloc_t *a, const char *path,
    const char *fmt, ...);

/* out (EPRO_PATH_MAX bytes) = base "/" key, key escaped (RFC 6901) */
void epro_path(char *out, const char *base, const char *key);

/*
 * Where a check stands, as a chain of keys up to the body's root (key
 * NULL: the root itself).  The JSON Pointer is written only when an error
 * is kept, not for every member checked: a valid body never builds one.
 */
typedef struct epro_where_s  epro_where_t;

struct epro_where_s {
    const epro_where_t  *up;
    const char          *key;
};

/* epro_error() at the pointer of w */
int epro_error_at(epro_request_t *req, epro_alloc_t *a,
    const epro_where_t *w, const char *fmt, ...);

/*
 * UUIDv7 from a Unix time in ms and 10 random bytes; a UUID string read
 * into its lowercase form (EPRO_ERROR: not a UUID, out untouched)
 */
void epro_uuid_v7(char *out, uint64_t ms, const unsigned char *rnd);
int epro_uuid_parse(char *out, const char *s, size_t len);

/* RFC 3339 check (EPRO_OK or EPRO_ERROR); Unix seconds to RFC 3339 UTC */
int epro_rfc3339_valid(const char *s, size_t len);
int64_t epro_rfc3339_ms(const char *s, size_t len);
int epro_date_valid(const char *s, size_t len);
size_t epro_unix_to_rfc3339(char *out, int64_t sec, unsigned ms);

/*
 * Instrument definitions (a JSON document, see README) checked and indexed;
 * on EPRO_ERROR or EPRO_NOMEM, err receives "where: what".
 */
int epro_instruments_load(epro_instruments_t *set, const char *text,
    size_t len, char *err, size_t errlen, epro_alloc_t *a);
int epro_instruments_index(epro_instruments_t *set, char *err,
    size_t errlen, epro_alloc_t *a);
const epro_instrument_t *epro_instrument_find(const epro_instruments_t *set,
    const char *code, size_t len);
const epro_item_t *epro_item_find(const epro_instrument_t *instr,
    const char *id, size_t len);
uint32_t epro_hash(const char *s, size_t len);

/* appends one submission to the batch columns */
int epro_rows_add(epro_rows_t *rows, const epro_submission_t *s,
    const char *received, epro_alloc_t *a);
/*
 * appends the extra columns' values of the row epro_rows_add() just
 * added (rows->nextra of them; data NULL: SQL NULL)
 */
int epro_rows_add_extra(epro_rows_t *rows, const epro_str_t *extra,
    epro_alloc_t *a);
/* copies rows of another set as epro_rows_add() added them there */
int epro_rows_copy(epro_rows_t *rows, const epro_rows_t *src,
    const size_t *from, const size_t *to, size_t nrows, epro_alloc_t *a);
/* closes the columns to send (once); reset empties them for reuse */
int epro_rows_finish(epro_rows_t *rows, epro_alloc_t *a);
uint32_t epro_col_oid(size_t col);
void epro_rows_reset(epro_rows_t *rows);
void epro_rows_free(epro_rows_t *rows, epro_alloc_t *a);

/* buffers */
int epro_buf_reserve(epro_buf_t *b, size_t n, epro_alloc_t *a);
int epro_buf_add(epro_buf_t *b, const char *s, size_t n, epro_alloc_t *a);
int epro_buf_add_json_string(epro_buf_t *b, const char *s, size_t n,
    epro_alloc_t *a);

/* application/problem+json body for a failed request */
int epro_problem_json(epro_buf_t *b, int status, const char *type,
    const char *title, const char *detail, const epro_request_t *req,
    epro_alloc_t *a);

/* UTF-8 helpers */
size_t epro_utf8_chars(const char *s, size_t len);
size_t epro_utf8_seq(const unsigned char *p, const unsigned char *end);

/*
 * RFC 8259's number at *p, before end; *p moves past it.  EPRO_ERROR:
 * no number, *why says which rule broke at *p.  EPRO_JSON_RANGE: a
 * number, but longer than EPRO_MAX_NUMBER_BYTES, with an exponent over
 * 308, or beyond a double's largest (10e308): more than PostgreSQL's
 * numeric and a double both hold.  The strict
 * scan and the tree's builder both read numbers here.
 */
#define EPRO_JSON_RANGE  1

int epro_json_number(const char **p, const char *end, const char **why);


/*
 * The first '"' or '\\' at or after p, or end: for walkers of text that
 * passed the strict check, where a string ends at its first unescaped
 * quote.  Eight bytes at a time while a word holds neither (the "has a
 * zero byte" test of the word xor'ed with each).
 */
static inline const char *
epro_json_quote_or_escape(const char *p, const char *end)
{
    uint64_t  w, q, b;

    while (end - p >= 8) {
        memcpy(&w, p, 8);
        q = w ^ (0x0101010101010101ULL * '"');
        b = w ^ (0x0101010101010101ULL * '\\');

        if ((((q - 0x0101010101010101ULL) & ~q)
             | ((b - 0x0101010101010101ULL) & ~b))
            & 0x8080808080808080ULL)
        {
            break;
        }

        p += 8;
    }

    while (p < end && *p != '"' && *p != '\\') {
        p++;
    }

    return p;
}


/*
 * Skips the plain bytes of a string: printable ASCII but '"' and '\\'.
 * Eight at a time while none of a word is anything else (a byte below
 * 0x20, a '"' or '\\' by the "has a zero byte" test of the word xor'ed
 * with it, or one with the top bit set); false alarms only end the fast
 * path early.  Most of a body's bytes are in strings: the strict scan and
 * the tree's builder both read them here.
 */
static inline const unsigned char *
epro_json_plain(const unsigned char *p, const unsigned char *end)
{
    uint64_t  w, q, b;

    while (end - p >= 8) {
        memcpy(&w, p, 8);
        q = w ^ (0x0101010101010101ULL * '"');
        b = w ^ (0x0101010101010101ULL * '\\');

        if ((((w - 0x0101010101010101ULL * 0x20) & ~w)
             | ((q - 0x0101010101010101ULL) & ~q)
             | ((b - 0x0101010101010101ULL) & ~b)
             | w)
            & 0x8080808080808080ULL)
        {
            break;
        }

        p += 8;
    }

    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
        p++;
    }

    return p;
}


#endif /* _EPRO_CORE_H_INCLUDED_ */
