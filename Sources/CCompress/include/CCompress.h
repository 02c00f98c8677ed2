#ifndef DSLLM_CCOMPRESS_H
#define DSLLM_CCOMPRESS_H
#include <stddef.h>
// Streaming gzip (zlib) and zstd decompression for `dsllm data ingest`. The libraries are opened at run
// time (dlopen: libz.so.1, libzstd.so.1, present on every Debian), so the build needs no -dev packages.

/// kind: 1 = gzip (or zlib), 2 = zstd. Returns NULL when the library cannot be loaded.
void *dsllm_decoder_open(int kind);

/// Decompresses from `in` (inSize bytes) into `out` (outCap bytes). Sets *consumed to the input bytes used.
/// Returns the bytes produced, or -1 on corrupt input (then *error names the problem). Concatenated gzip
/// members and zstd frames are decoded one after another.
long dsllm_decoder_run(void *decoder, const void *in, size_t inSize, size_t *consumed, void *out, size_t outCap,
                       const char **error);

/// 1 when the last member/frame ended cleanly (no partial frame pending).
int dsllm_decoder_finished(void *decoder);

void dsllm_decoder_close(void *decoder);
#endif
