// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are macros that take the address of
// library globals, which Swift cannot import; these inline functions hand them over.
#include <mpi.h>

static inline MPI_Comm pretrain_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype pretrain_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype pretrain_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype pretrain_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype pretrain_mpi_int(void) { return MPI_INT; }
static inline MPI_Op pretrain_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op pretrain_mpi_max(void) { return MPI_MAX; }
static inline void *pretrain_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int pretrain_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

// Non-blocking sums: start one, and test or wait for a list of them (statuses ignored).
static inline MPI_Request pretrain_mpi_start_float_sum(float *buffer, int count) {
    MPI_Request request = MPI_REQUEST_NULL;
    MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request);
    return request;
}
static inline int pretrain_mpi_test_all(int count, MPI_Request *requests) {
    int done = 0;
    MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE);
    return done;
}
static inline void pretrain_mpi_wait_all(int count, MPI_Request *requests) {
    MPI_Waitall(count, requests, MPI_STATUSES_IGNORE);
}
