#ifndef DSLLM_CMPI_H
#define DSLLM_CMPI_H
// The only place dsllm calls MPI. Open MPI's libmpi.so.40 is opened at run time (dlopen, RTLD_GLOBAL so its
// plugins resolve), and only when the process was started by mpirun (OMPI_COMM_WORLD_SIZE is set): a plain
// `dsllm train` never touches MPI, and the build needs no MPI headers. Handles (MPI_COMM_WORLD, MPI_FLOAT, …)
// are Open MPI's exported objects (ompi_mpi_comm_world, …), as its mpi.h defines them.

/// Starts MPI when launched by mpirun. Returns 1 and sets rank/size; 0 when not launched under MPI (rank 0 of 1);
/// -1 when launched but libmpi cannot be loaded or initialized (`error` says why).
int dsllm_mpi_init(int *rank, int *size, const char **error);

/// Sum of `count` doubles across ranks, in place.
int dsllm_mpi_allreduce_sum_double(double *values, int count);

/// In place: `buffer` (Σ counts floats) is summed across ranks and this rank's piece — the r-th consecutive
/// one, counts[r] floats — lands at the START of `buffer` (MPI_IN_PLACE semantics of MPI_Reduce_scatter).
int dsllm_mpi_reduce_scatter_sum_float(float *buffer, const int *counts);

/// In place: rank r's counts[r] floats at `buffer + displs[r]` are copied to every rank (MPI_Allgatherv, MPI_IN_PLACE).
int dsllm_mpi_allgatherv_float(float *buffer, const int *counts, const int *displs);

int dsllm_mpi_barrier(void);
void dsllm_mpi_abort(int code);
void dsllm_mpi_finalize(void);
#endif
