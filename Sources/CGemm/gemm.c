// Run-time binding to oneDNN (preferred, as PyTorch's CPU path) or OpenBLAS. See CGemm.h.
#include "CGemm.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef int (*dnnl_sgemm_fn)(char, char, long, long, long, float, const float *, long, const float *, long,
                             float, float *, long);
typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                               float, float *, int);
typedef int (*dnnl_bf16_fn)(char, char, long, long, long, float, const unsigned short *, long, const unsigned short *,
                            long, float, float *, long);
typedef void (*set_threads_fn)(int);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char wanted[16];
static const char *backend = "none";
static dnnl_sgemm_fn dnnl_sgemm;
static dnnl_bf16_fn dnnl_bf16;
static cblas_sgemm_fn cblas_sgemm;
static set_threads_fn set_threads;

static void *open_first(const char *const *names) {
    for (; *names; names++) {
        void *h = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}

static int load_onednn(void) {
    // Idle OpenMP threads spin for a while by default and would steal the cores from dsllm's own
    // worker pool between GEMMs; ask for passive waiting unless the user chose otherwise.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    static const char *const names[] = {"libdnnl.so.3", "libdnnl.so.2", "libdnnl.so", NULL};
    void *h = open_first(names);
    if (!h) return 0;
    dnnl_sgemm = (dnnl_sgemm_fn)dlsym(h, "dnnl_sgemm");
    if (!dnnl_sgemm) return 0;
    // Exported by every oneDNN since 1.x; returns dnnl_unimplemented (3) on CPUs without AVX512-BF16/AMX.
    dnnl_bf16 = (dnnl_bf16_fn)dlsym(h, "dnnl_gemm_bf16bf16f32");
    static const char *const omp[] = {"libgomp.so.1", "libiomp5.so", "libomp.so", NULL};
    void *o = open_first(omp);
    if (o) set_threads = (set_threads_fn)dlsym(o, "omp_set_num_threads");
    backend = "onednn";
    return 1;
}

static int load_openblas(void) {
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
    void *h = open_first(names);
    if (!h) return 0;
    cblas_sgemm = (cblas_sgemm_fn)dlsym(h, "cblas_sgemm");
    if (!cblas_sgemm) return 0;
    set_threads = (set_threads_fn)dlsym(h, "openblas_set_num_threads");
    backend = "openblas";
    return 1;
}

static void load(void) {
    if (strcmp(wanted, "none") == 0) return;
    if (strcmp(wanted, "openblas") == 0) { load_openblas(); return; }
    if (strcmp(wanted, "onednn") == 0) { load_onednn(); return; }
    if (!load_onednn()) load_openblas();
}

const char *dsllm_gemm_backend(const char *preference) {
    if (preference && !wanted[0]) strncpy(wanted, preference, sizeof wanted - 1);
    pthread_once(&once, load);
    return backend;
}

void dsllm_gemm_set_threads(int threads) {
    if (set_threads && threads > 0) set_threads(threads);
}

int dsllm_sgemm(char transA, char transB, long M, long N, long K, float alpha, const float *A, long lda,
                const float *B, long ldb, float beta, float *C, long ldc) {
    if (dnnl_sgemm) return dnnl_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0 ? 0 : -1;
    if (cblas_sgemm) {
        cblas_sgemm(101, transA == 'T' ? 112 : 111, transB == 'T' ? 112 : 111, (int)M, (int)N, (int)K, alpha, A, (int)lda,
                    B, (int)ldb, beta, C, (int)ldc);
        return 0;
    }
    return -1;
}

int dsllm_gemm_bf16(char transA, char transB, long M, long N, long K, float alpha, const unsigned short *A, long lda,
                    const unsigned short *B, long ldb, float beta, float *C, long ldc) {
    if (!dnnl_bf16) return -1;
    return dnnl_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0 ? 0 : -1;
}
