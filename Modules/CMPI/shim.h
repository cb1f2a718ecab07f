// Open MPI (Debian libopenmpi-dev). Its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros
// over addresses of predefined objects, which Swift does not import; these functions return them.
#include <mpi.h>

static inline MPI_Comm ipr_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype ipr_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype ipr_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op ipr_mpi_sum(void) { return MPI_SUM; }
static inline int ipr_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int ipr_mpi_success(void) { return MPI_SUCCESS; }
static inline void *ipr_mpi_in_place(void) { return MPI_IN_PLACE; }
