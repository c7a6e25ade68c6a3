// OpenBLAS's CBLAS interface; the include folder (openblas-pthread on Debian) comes from pkg-config.
#include <cblas.h>
