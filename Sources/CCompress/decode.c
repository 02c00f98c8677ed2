// See CCompress.h. zlib's z_stream and zstd's buffers are declared here with their documented, stable layouts.
#include "CCompress.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *next_in; unsigned avail_in; unsigned long total_in;
    unsigned char *next_out; unsigned avail_out; unsigned long total_out;
    const char *msg; void *state;
    void *zalloc; void *zfree; void *opaque;
    int data_type; unsigned long adler; unsigned long reserved;
} z_stream;
typedef struct { const void *src; size_t size; size_t pos; } zstd_in;
typedef struct { void *dst; size_t size; size_t pos; } zstd_out;

static int (*inflateInit2_)(z_stream *, int, const char *, int);
static int (*inflate_)(z_stream *, int);
static int (*inflateReset_)(z_stream *);
static int (*inflateEnd_)(z_stream *);
static void *(*zstdCreate)(void);
static size_t (*zstdRun)(void *, zstd_out *, zstd_in *);
static size_t (*zstdFree)(void *);
static unsigned (*zstdIsError)(size_t);
static const char *(*zstdErrorName)(size_t);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (z) {
        inflateInit2_ = dlsym(z, "inflateInit2_");
        inflate_ = dlsym(z, "inflate");
        inflateReset_ = dlsym(z, "inflateReset");
        inflateEnd_ = dlsym(z, "inflateEnd");
    }
    void *s = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    if (s) {
        zstdCreate = dlsym(s, "ZSTD_createDStream");
        zstdRun = dlsym(s, "ZSTD_decompressStream");
        zstdFree = dlsym(s, "ZSTD_freeDStream");
        zstdIsError = dlsym(s, "ZSTD_isError");
        zstdErrorName = dlsym(s, "ZSTD_getErrorName");
    }
}

typedef struct {
    int kind;
    int finished;
    z_stream z;
    void *zstd;
} decoder;

void *dsllm_decoder_open(int kind) {
    pthread_once(&once, load);
    decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->kind = kind;
    d->finished = 1;
    if (kind == 1 && inflateInit2_ && inflate_ && inflateEnd_ && inflateReset_) {
        // 15 + 32: a window of 2^15 and automatic gzip/zlib header detection.
        if (inflateInit2_(&d->z, 15 + 32, "1.2.13", (int)sizeof(z_stream)) == 0) return d;
    } else if (kind == 2 && zstdCreate && zstdRun && zstdFree && zstdIsError) {
        d->zstd = zstdCreate();
        if (d->zstd) return d;
    }
    free(d);
    return NULL;
}

long dsllm_decoder_run(void *h, const void *in, size_t inSize, size_t *consumed, void *out, size_t outCap, const char **error) {
    decoder *d = h;
    *consumed = 0;
    if (d->kind == 1) {
        size_t produced = 0;
        const unsigned char *src = in;
        do {  // at least once: with no input, inflate still flushes output it holds
            if (d->finished && d->z.total_in > 0) {
                if (inSize == 0) break;
                inflateReset_(&d->z);  // the next gzip member
            }
            d->z.next_in = src; d->z.avail_in = inSize > 1u << 30 ? 1u << 30 : (unsigned)inSize;
            d->z.next_out = (unsigned char *)out + produced;
            size_t room = outCap - produced;
            d->z.avail_out = room > 1u << 30 ? 1u << 30 : (unsigned)room;
            unsigned before_in = d->z.avail_in, before_out = d->z.avail_out;
            int rc = inflate_(&d->z, 0);
            size_t used = before_in - d->z.avail_in, made = before_out - d->z.avail_out;
            src += used; inSize -= used; *consumed += used; produced += made;
            if (rc == 1) { d->finished = 1; continue; }          // Z_STREAM_END
            if (rc != 0 && rc != -5) {                         // not Z_OK, not Z_BUF_ERROR
                *error = d->z.msg ? d->z.msg : "corrupt gzip data";
                return -1;
            }
            d->finished = 0;
            if (used == 0 && made == 0) break;
        } while (inSize > 0 && produced < outCap);
        return (long)produced;
    }
    zstd_in i = {in, inSize, 0};
    zstd_out o = {out, outCap, 0};
    size_t rc = zstdRun(d->zstd, &o, &i);
    *consumed = i.pos;
    if (zstdIsError(rc)) {
        *error = zstdErrorName ? zstdErrorName(rc) : "corrupt zstd data";
        return -1;
    }
    // A call that moves nothing (draining at the end) must not turn a completed frame into "pending".
    if (i.pos > 0 || o.pos > 0) d->finished = rc == 0;
    return (long)o.pos;
}

int dsllm_decoder_finished(void *h) { return ((decoder *)h)->finished; }

void dsllm_decoder_close(void *h) {
    decoder *d = h;
    if (!d) return;
    if (d->kind == 1) inflateEnd_(&d->z);
    else if (d->zstd) zstdFree(d->zstd);
    free(d);
}
