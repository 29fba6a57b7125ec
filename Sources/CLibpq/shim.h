#ifndef REFOLD_CLIBPQ_SHIM_H
#define REFOLD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
