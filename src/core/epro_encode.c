
/*
 * Identifiers, timestamps and the batch columns: each column is one
 * array, sent as one parameter of the prepared INSERT, so no data ever
 * appears in SQL text.  The text and jsonb columns are arrays in
 * PostgreSQL's binary format (array_send): a header, then each element
 * as its length and its bytes, copied as they are: nothing is escaped
 * here and nothing unescaped by array_in() there, which for a 4 KB
 * payload full of quotes cost both sides more than anything else in
 * the row.  The short typed columns (uuid, timestamptz, inet, numeric)
 * are array literals, which PostgreSQL parses with their types' input
 * functions.
 */


#include <string.h>

#include "epro_core.h"


static int epro_rows_add_elt(epro_buf_t *b, const char *s, size_t n,
    epro_alloc_t *a);
static int epro_rows_add_bin(epro_buf_t *b, const char *s, size_t n,
    uint32_t oid, epro_alloc_t *a);
static void epro_put32(char *p, uint32_t v);
static int epro_digits(const char *s, size_t n, unsigned *v);



static const char  epro_hex[] = "0123456789abcdef";


/* the element type of each binary column; 0: an array literal */

static const uint32_t  epro_col_oids[EPRO_NCOLS] = {
    0,                  /* submission_id uuid */
    EPRO_OID_TEXT,      /* study_id */
    EPRO_OID_TEXT,      /* site_id */
    EPRO_OID_TEXT,      /* subject_id */
    EPRO_OID_TEXT,      /* visit_name */
    EPRO_OID_TEXT,      /* instrument */
    0,                  /* collected_at timestamptz */
    0,                  /* received_at timestamptz */
    EPRO_OID_TEXT,      /* payload */
    0,                  /* client_addr inet */
    EPRO_OID_JSONB,     /* answers */
    EPRO_OID_TEXT,      /* fhir_status */
    0                   /* score numeric */
};


uint32_t
epro_col_oid(size_t col)
{
    /* epro_column's are text */
    return col < EPRO_NCOLS ? epro_col_oids[col] : EPRO_OID_TEXT;
}


void
epro_uuid_v7(char *out, uint64_t ms, const unsigned char *rnd)
{
    size_t         i, n;
    unsigned char  b[16];

    for (i = 0; i < 6; i++) {
        b[i] = (unsigned char) (ms >> (40 - 8 * i));
    }

    b[6] = 0x70 | (rnd[0] & 0x0f);
    b[7] = rnd[1];
    b[8] = 0x80 | (rnd[2] & 0x3f);
    memcpy(&b[9], &rnd[3], 7);

    for (i = 0, n = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[n++] = '-';
        }

        out[n++] = epro_hex[b[i] >> 4];
        out[n++] = epro_hex[b[i] & 0xf];
    }

    out[n] = '\0';
}


int
epro_uuid_parse(char *out, const char *s, size_t len)
{
    size_t  i;
    char    c, id[EPRO_UUID_LEN + 1];

    /* out is written only on success: a half-parsed id never compares */

    if (len != EPRO_UUID_LEN) {
        return EPRO_ERROR;
    }

    for (i = 0; i < EPRO_UUID_LEN; i++) {
        c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return EPRO_ERROR;
            }

        } else if (c >= 'A' && c <= 'F') {
            c |= 0x20;

        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return EPRO_ERROR;
        }

        id[i] = c;
    }

    id[i] = '\0';
    memcpy(out, id, sizeof(id));

    return EPRO_OK;
}


typedef struct {
    unsigned        year;
    unsigned        month;
    unsigned        day;
    unsigned        hour;
    unsigned        min;
    unsigned        sec;
    unsigned        msec;
    int             offset;     /* minutes east of UTC */
} epro_tm_t;


/* full-date = YYYY-MM-DD, year 0001 and later (PostgreSQL has no year 0) */

static int
epro_full_date(const char *s, size_t len, epro_tm_t *tm)
{
    unsigned  mdays;

    static const unsigned char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (len < 10
        || epro_digits(s, 4, &tm->year) || s[4] != '-'
        || epro_digits(s + 5, 2, &tm->month) || s[7] != '-'
        || epro_digits(s + 8, 2, &tm->day))
    {
        return EPRO_ERROR;
    }

    if (tm->year < 1 || tm->month < 1 || tm->month > 12 || tm->day < 1) {
        return EPRO_ERROR;
    }

    mdays = days[tm->month - 1];

    if (tm->month == 2 && tm->year % 4 == 0
        && (tm->year % 100 != 0 || tm->year % 400 == 0))
    {
        mdays = 29;
    }

    return (tm->day > mdays) ? EPRO_ERROR : EPRO_OK;
}


/*
 * date-time = full-date "T" full-time, full-time with "Z" or +hh:mm.
 * Also within what PostgreSQL's timestamptz takes: offsets up to 15:59.
 */

static int
epro_rfc3339(const char *s, size_t len, epro_tm_t *tm)
{
    size_t    i, k;
    unsigned  oh, om;

    if (len < 20
        || epro_full_date(s, len, tm) != EPRO_OK
        || (s[10] != 'T' && s[10] != 't')
        || epro_digits(s + 11, 2, &tm->hour) || s[13] != ':'
        || epro_digits(s + 14, 2, &tm->min) || s[16] != ':'
        || epro_digits(s + 17, 2, &tm->sec))
    {
        return EPRO_ERROR;
    }

    if (tm->hour > 23 || tm->min > 59 || tm->sec > 59) {
        return EPRO_ERROR;
    }

    i = 19;
    tm->msec = 0;

    if (s[i] == '.') {
        i++;

        for (k = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, k++) {
            if (k < 3) {
                tm->msec = tm->msec * 10 + (s[i] - '0');
            }
        }

        if (k == 0 || k > 9) {
            return EPRO_ERROR;
        }

        for ( /* void */ ; k < 3; k++) {
            tm->msec *= 10;
        }
    }

    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        tm->offset = 0;
        return EPRO_OK;
    }

    if (i + 6 != len
        || (s[i] != '+' && s[i] != '-')
        || epro_digits(s + i + 1, 2, &oh) || s[i + 3] != ':'
        || epro_digits(s + i + 4, 2, &om)
        || oh > 15 || om > 59)
    {
        return EPRO_ERROR;
    }

    tm->offset = (int) (oh * 60 + om) * (s[i] == '-' ? -1 : 1);

    return EPRO_OK;
}


int
epro_rfc3339_valid(const char *s, size_t len)
{
    epro_tm_t  tm;

    return epro_rfc3339(s, len, &tm);
}


int
epro_date_valid(const char *s, size_t len)
{
    epro_tm_t  tm;

    return (len == 10) ? epro_full_date(s, len, &tm) : EPRO_ERROR;
}


/* milliseconds since the epoch of a valid RFC 3339 timestamp */

int64_t
epro_rfc3339_ms(const char *s, size_t len)
{
    int64_t    y, m, era, yoe, doy, doe, days;
    epro_tm_t  tm;

    if (epro_rfc3339(s, len, &tm) != EPRO_OK) {
        return 0;
    }

    /* days from civil (H. Hinnant's algorithm) */

    y = tm.year - (tm.month <= 2);
    m = tm.month;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + tm.day - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    return ((days * 86400 + tm.hour * 3600 + tm.min * 60 + tm.sec)
            - (int64_t) tm.offset * 60) * 1000 + tm.msec;
}


static int
epro_digits(const char *s, size_t n, unsigned *v)
{
    size_t  i;

    *v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return EPRO_ERROR;
        }

        *v = *v * 10 + (s[i] - '0');
    }

    return EPRO_OK;
}


/* civil date from days since 1970-01-01 (H. Hinnant's algorithm) */

size_t
epro_unix_to_rfc3339(char *out, int64_t sec, unsigned ms)
{
    char     *p;
    int64_t   days, z, era, doe, yoe, doy, mp, y, m, d, rem;
    unsigned  i, v[6], w[6] = { 4, 2, 2, 2, 2, 2 };

    static const char  sep[] = "--T::";

    days = sec / 86400;
    rem = sec % 86400;

    if (rem < 0) {
        rem += 86400;
        days--;
    }

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += (m <= 2);

    v[0] = (unsigned) y;
    v[1] = (unsigned) m;
    v[2] = (unsigned) d;
    v[3] = (unsigned) (rem / 3600);
    v[4] = (unsigned) (rem / 60 % 60);
    v[5] = (unsigned) (rem % 60);

    p = out;

    for (i = 0; i < 6; i++) {
        if (i > 0) {
            *p++ = sep[i - 1];
        }

        p += w[i];

        for (m = 1; m <= w[i]; m++) {
            p[-m] = '0' + v[i] % 10;
            v[i] /= 10;
        }
    }

    if (ms) {
        *p++ = '.';
        *p++ = '0' + ms / 100 % 10;
        *p++ = '0' + ms / 10 % 10;
        *p++ = '0' + ms % 10;
    }

    *p++ = 'Z';
    *p = '\0';

    return p - out;
}


int
epro_rows_add(epro_rows_t *rows, const epro_submission_t *s,
    const char *received, epro_alloc_t *a)
{
    size_t             i;
    const epro_str_t  *str;

    const epro_str_t   cols[EPRO_NCOLS] = {
        { s->id, EPRO_UUID_LEN },
        s->study,
        s->site,
        s->subject,
        s->visit,
        s->instrument,
        { s->collected, strlen(s->collected) },
        { received, strlen(received) },
        s->payload,
        s->client,
        s->answers,
        s->fhir_status,
        s->score
    };

    for (i = 0; i < EPRO_NCOLS; i++) {
        str = &cols[i];

        if ((epro_col_oids[i]
             ? epro_rows_add_bin(&rows->col[i], str->data, str->len,
                                 epro_col_oids[i], a)
             : epro_rows_add_elt(&rows->col[i], str->data, str->len, a))
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    rows->nrows++;

    return EPRO_OK;
}


int
epro_rows_add_extra(epro_rows_t *rows, const epro_str_t *extra,
    epro_alloc_t *a)
{
    size_t  i;

    for (i = 0; i < rows->nextra; i++) {
        if (epro_rows_add_bin(&rows->col[EPRO_NCOLS + i], extra[i].data,
                              extra[i].len, EPRO_OID_TEXT, a)
            != EPRO_OK)
        {
            return EPRO_NOMEM;
        }
    }

    return EPRO_OK;
}


/* one element of an array literal: NULL, or "..." with " and \ escaped */

static int
epro_rows_add_elt(epro_buf_t *b, const char *s, size_t n, epro_alloc_t *a)
{
    char        *d;
    const char  *end;

    if (epro_buf_reserve(b, 2 * n + 8, a) != EPRO_OK) {
        return EPRO_NOMEM;
    }

    d = b->data + b->len;
    *d++ = (b->len == 0) ? '{' : ',';

    if (s == NULL) {
        memcpy(d, "NULL", 4);
        d += 4;

    } else {
        *d++ = '"';

        for (end = s + n; s < end; s++) {
            if (*s == '"' || *s == '\\') {
                *d++ = '\\';
            }

            *d++ = *s;
        }

        *d++ = '"';
    }

    b->len = d - b->data;
    *d = '\0';

    return EPRO_OK;
}


/*
 * One element of a binary array: its length (-1: NULL) and bytes, jsonb's
 * with its format version 1 first.  The first element leaves room for
 * the header, which epro_rows_finish() writes.
 */

static int
epro_rows_add_bin(epro_buf_t *b, const char *s, size_t n, uint32_t oid,
    epro_alloc_t *a)
{
    char    *d;
    size_t   v;

    v = (oid == EPRO_OID_JSONB);

    if (n > 0x7fffffff - v
        || epro_buf_reserve(b, EPRO_ARRAY_HEAD + 4 + v + n, a) != EPRO_OK)
    {
        return EPRO_NOMEM;
    }

    if (b->len == 0) {
        memset(b->data, 0, EPRO_ARRAY_HEAD);
        b->len = EPRO_ARRAY_HEAD;
    }

    d = b->data + b->len;

    if (s == NULL) {
        epro_put32(d, 0xffffffff);
        d += 4;

    } else {
        epro_put32(d, (uint32_t) (v + n));
        d += 4;

        if (v) {
            *d++ = 1;
        }

        memcpy(d, s, n);
        d += n;
    }

    b->len = d - b->data;
    *d = '\0';

    return EPRO_OK;
}


static void
epro_put32(char *p, uint32_t v)
{
    p[0] = (char) (v >> 24);
    p[1] = (char) (v >> 16);
    p[2] = (char) (v >> 8);
    p[3] = (char) v;
}


/*
 * Appends nrows rows of another set: per column, its bytes from[i] ..
 * to[i], as they were when the rows were added there (an array literal's
 * elements with their leading '{' or ','; a binary array's elements,
 * after its header if from[i] is 0).  The rows are not encoded again, so
 * their submissions need not be kept.
 */

int
epro_rows_copy(epro_rows_t *rows, const epro_rows_t *src, const size_t *from,
    const size_t *to, size_t nrows, epro_alloc_t *a)
{
    size_t       i, f, n, head;
    epro_buf_t  *b;

    for (i = 0; i < EPRO_NCOLS + rows->nextra; i++) {
        b = &rows->col[i];
        f = from[i];

        if (to[i] == f) {
            continue;
        }

        head = 0;

        if (epro_col_oid(i)) {
            f = (f == 0) ? EPRO_ARRAY_HEAD : f;
            head = (b->len == 0) ? EPRO_ARRAY_HEAD : 0;
        }

        n = to[i] - f;

        if (epro_buf_reserve(b, head + n, a) != EPRO_OK) {
            return EPRO_NOMEM;
        }

        memset(b->data + b->len, 0, head);
        b->len += head;

        memcpy(b->data + b->len, src->col[i].data + f, n);

        if (!epro_col_oid(i)) {
            b->data[b->len] = (b->len == 0) ? '{' : ',';
        }

        b->len += n;
        b->data[b->len] = '\0';
    }

    rows->nrows += nrows;

    return EPRO_OK;
}


/*
 * Closes every array literal ("}"), writes every binary array's header
 * (one dimension of nrows elements from 1; whether any is NULL), all
 * NUL-terminated.  Once per set of rows: then it is sent as it is.
 */

int
epro_rows_finish(epro_rows_t *rows, epro_alloc_t *a)
{
    size_t       i;
    uint32_t     len;
    epro_buf_t  *b;
    const char  *p, *end;

    for (i = 0; i < EPRO_NCOLS + rows->nextra; i++) {
        b = &rows->col[i];

        if (!epro_col_oid(i)) {
            if (epro_buf_add(b, rows->nrows ? "}" : "{}", rows->nrows ? 1 : 2,
                             a)
                != EPRO_OK)
            {
                return EPRO_NOMEM;
            }

            continue;
        }

        if (rows->nrows == 0) {

            /* no dimension: ndim 0, no NULLs, the element type */

            if (epro_buf_reserve(b, EPRO_ARRAY_HEAD, a) != EPRO_OK) {
                return EPRO_NOMEM;
            }

            memset(b->data, 0, 12);
            epro_put32(b->data + 8, epro_col_oid(i));
            b->len = 12;
            b->data[b->len] = '\0';

            continue;
        }

        if (b->len < EPRO_ARRAY_HEAD) {
            return EPRO_ERROR;      /* a column without the rows' values */
        }

        epro_put32(b->data, 1);
        epro_put32(b->data + 4, 0);
        epro_put32(b->data + 8, epro_col_oid(i));
        epro_put32(b->data + 12, (uint32_t) rows->nrows);
        epro_put32(b->data + 16, 1);

        p = b->data + EPRO_ARRAY_HEAD;
        end = b->data + b->len;

        while (p < end) {
            len = (uint32_t) (unsigned char) p[0] << 24
                  | (uint32_t) (unsigned char) p[1] << 16
                  | (uint32_t) (unsigned char) p[2] << 8
                  | (uint32_t) (unsigned char) p[3];
            p += 4;

            if (len == 0xffffffff) {
                b->data[7] = 1;
                continue;
            }

            p += len;
        }
    }

    return EPRO_OK;
}


void
epro_rows_reset(epro_rows_t *rows)
{
    size_t  i;

    for (i = 0; i < EPRO_MAX_COLS; i++) {
        rows->col[i].len = 0;
    }

    rows->nrows = 0;
}


void
epro_rows_free(epro_rows_t *rows, epro_alloc_t *a)
{
    size_t  i;

    for (i = 0; i < EPRO_MAX_COLS; i++) {
        if (rows->col[i].data && a->free) {
            a->free(a->ctx, rows->col[i].data);
        }

        rows->col[i].data = NULL;
        rows->col[i].len = 0;
        rows->col[i].cap = 0;
    }

    rows->nrows = 0;
}
