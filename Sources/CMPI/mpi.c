// See CMPI.h.
#include "CMPI.h"
#include <dlfcn.h>
#include <stdlib.h>

static void *comm_world, *type_float, *type_double, *op_sum;
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_rank)(void *, int *);
static int (*p_size)(void *, int *);
static int (*p_allreduce)(const void *, void *, int, void *, void *, void *);
static int (*p_reduce_scatter)(const void *, void *, const int *, void *, void *, void *);
static int (*p_allgatherv)(const void *, int, void *, void *, const int *, const int *, void *, void *);
static int (*p_barrier)(void *);
static int (*p_abort)(void *, int);
static int (*p_finalize)(void);
static int active;

int dsllm_mpi_init(int *rank, int *size, const char **error) {
    *rank = 0;
    *size = 1;
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK")) return 0;
    void *h = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!h) h = dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL);
    if (!h) { *error = "launched by mpirun but libmpi.so.40 (Open MPI) cannot be loaded"; return -1; }
    p_init_thread = dlsym(h, "MPI_Init_thread");
    p_rank = dlsym(h, "MPI_Comm_rank");
    p_size = dlsym(h, "MPI_Comm_size");
    p_allreduce = dlsym(h, "MPI_Allreduce");
    p_reduce_scatter = dlsym(h, "MPI_Reduce_scatter");
    p_allgatherv = dlsym(h, "MPI_Allgatherv");
    p_barrier = dlsym(h, "MPI_Barrier");
    p_abort = dlsym(h, "MPI_Abort");
    p_finalize = dlsym(h, "MPI_Finalize");
    comm_world = dlsym(h, "ompi_mpi_comm_world");
    type_float = dlsym(h, "ompi_mpi_float");
    type_double = dlsym(h, "ompi_mpi_double");
    op_sum = dlsym(h, "ompi_mpi_op_sum");
    if (!p_init_thread || !p_rank || !p_size || !p_allreduce || !p_reduce_scatter || !p_allgatherv || !p_barrier || !p_abort ||
        !p_finalize || !comm_world || !type_float || !type_double || !op_sum) {
        *error = "libmpi lacks Open MPI's symbols (dsllm supports Open MPI)";
        return -1;
    }
    // MPI_THREAD_SERIALIZED (2): collectives run on a communication thread while the backward computes, never
    // two threads in MPI at once.
    int provided = 0;
    if (p_init_thread(NULL, NULL, 2, &provided) != 0) { *error = "MPI_Init_thread failed"; return -1; }
    if (provided < 2) { *error = "this MPI does not provide MPI_THREAD_SERIALIZED"; return -1; }
    p_rank(comm_world, rank);
    p_size(comm_world, size);
    active = 1;
    return 1;
}

int dsllm_mpi_allreduce_sum_double(double *values, int count) {
    if (!active) return 0;
    // MPI_IN_PLACE is ((void *) 1) in Open MPI.
    return p_allreduce((void *)1, values, count, type_double, op_sum, comm_world);
}

int dsllm_mpi_reduce_scatter_sum_float(float *buffer, const int *counts) {
    if (!active) return -1;
    return p_reduce_scatter((void *)1, buffer, counts, type_float, op_sum, comm_world);
}

int dsllm_mpi_allgatherv_float(float *buffer, const int *counts, const int *displs) {
    if (!active) return -1;
    return p_allgatherv((void *)1, 0, type_float, buffer, counts, displs, type_float, comm_world);
}

int dsllm_mpi_barrier(void) { return active ? p_barrier(comm_world) : 0; }

void dsllm_mpi_abort(int code) {
    if (active) p_abort(comm_world, code);
    exit(code);
}

void dsllm_mpi_finalize(void) {
    if (active) p_finalize();
    active = 0;
}
