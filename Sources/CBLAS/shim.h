// OpenBLAS's cblas.h (found through pkg-config's include path) also declares
// openblas_set_num_threads / openblas_get_num_threads, which we use to pin the thread count.
#include <cblas.h>
