
/*
 * SHA-1 (RFC 3174) for name-based UUIDs (RFC 4122, version 5): the id of a
 * FHIR submission whose identifier is not a UUID.  Not for security.
 */


#include <string.h>

#include "epro_fhir.h"


#define epro_rol(x, n)  (((x) << (n)) | ((x) >> (32 - (n))))


static void epro_sha1_block(epro_sha1_t *ctx, const unsigned char *p);


void
epro_sha1_init(epro_sha1_t *ctx)
{
    ctx->h[0] = 0x67452301;
    ctx->h[1] = 0xefcdab89;
    ctx->h[2] = 0x98badcfe;
    ctx->h[3] = 0x10325476;
    ctx->h[4] = 0xc3d2e1f0;
    ctx->len = 0;
}


void
epro_sha1_update(epro_sha1_t *ctx, const void *data, size_t len)
{
    size_t                used, n;
    const unsigned char  *p;

    p = data;
    used = (size_t) (ctx->len & 63);
    ctx->len += len;

    if (used) {
        n = 64 - used;

        if (len < n) {
            memcpy(ctx->buf + used, p, len);
            return;
        }

        memcpy(ctx->buf + used, p, n);
        epro_sha1_block(ctx, ctx->buf);
        p += n;
        len -= n;
    }

    while (len >= 64) {
        epro_sha1_block(ctx, p);
        p += 64;
        len -= 64;
    }

    if (len) {
        memcpy(ctx->buf, p, len);
    }
}


void
epro_sha1_final(epro_sha1_t *ctx, unsigned char out[20])
{
    size_t    used, i;
    uint64_t  bits;

    bits = ctx->len * 8;
    used = (size_t) (ctx->len & 63);

    ctx->buf[used++] = 0x80;

    if (used > 56) {
        memset(ctx->buf + used, 0, 64 - used);
        epro_sha1_block(ctx, ctx->buf);
        used = 0;
    }

    memset(ctx->buf + used, 0, 56 - used);

    for (i = 0; i < 8; i++) {
        ctx->buf[56 + i] = (unsigned char) (bits >> (56 - 8 * i));
    }

    epro_sha1_block(ctx, ctx->buf);

    for (i = 0; i < 20; i++) {
        out[i] = (unsigned char) (ctx->h[i / 4] >> (24 - 8 * (i % 4)));
    }
}


static void
epro_sha1_block(epro_sha1_t *ctx, const unsigned char *p)
{
    uint32_t  w[80], a, b, c, d, e, f, k, t;
    unsigned  i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
               | (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
    }

    for (i = 16; i < 80; i++) {
        t = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
        w[i] = epro_rol(t, 1);
    }

    a = ctx->h[0];
    b = ctx->h[1];
    c = ctx->h[2];
    d = ctx->h[3];
    e = ctx->h[4];

    for (i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;

        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;

        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;

        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }

        t = epro_rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = epro_rol(b, 30);
        b = a;
        a = t;
    }

    ctx->h[0] += a;
    ctx->h[1] += b;
    ctx->h[2] += c;
    ctx->h[3] += d;
    ctx->h[4] += e;
}


/* RFC 4122 4.3: SHA-1 of the namespace's 16 bytes and the name */

int
epro_uuid_v5(char *out, const char *ns, const char *name, size_t len)
{
    char            text[EPRO_UUID_LEN + 1];
    size_t          i, j;
    unsigned char   bin[16], md[20];
    epro_sha1_t     ctx;

    static const char  hex[] = "0123456789abcdef";

    if (epro_uuid_parse(text, ns, strlen(ns)) != 0) {
        return EPRO_ERROR;
    }

    for (i = 0, j = 0; i < 16; i++) {
        if (text[j] == '-') {
            j++;
        }

        bin[i] = (unsigned char) (((strchr(hex, text[j]) - hex) << 4)
                                  | (strchr(hex, text[j + 1]) - hex));
        j += 2;
    }

    epro_sha1_init(&ctx);
    epro_sha1_update(&ctx, bin, 16);
    epro_sha1_update(&ctx, name, len);
    epro_sha1_final(&ctx, md);

    md[6] = (unsigned char) ((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char) ((md[8] & 0x3f) | 0x80);

    for (i = 0, j = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[j++] = '-';
        }

        out[j++] = hex[md[i] >> 4];
        out[j++] = hex[md[i] & 0xf];
    }

    out[j] = '\0';

    return EPRO_OK;
}
