#ifndef REFOLD_CLIBPQ_SHIM_H
#define REFOLD_CLIBPQ_SHIM_H
/* Debian's libpq-dev puts the headers in /usr/include/postgresql (named here directly, since
   pkg-config's flags for libpq carry -D_FILE_OFFSET_BITS=64, which SwiftPM refuses). */
#include <postgresql/libpq-fe.h>
#endif
