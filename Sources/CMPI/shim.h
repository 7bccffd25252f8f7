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
