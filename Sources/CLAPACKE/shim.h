// Reference LAPACKE (Debian liblapacke-dev) calling the LAPACK that OpenBLAS provides.
#include <lapacke.h>
