#ifndef REFOLD_CHIREDIS_SHIM_H
#define REFOLD_CHIREDIS_SHIM_H
/* hiredis 0.14.1 (Debian's libhiredis-dev): the synchronous API only. */
#include <sys/time.h>
#include <poll.h>
#include <hiredis/hiredis.h>
#endif
