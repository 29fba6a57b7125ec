#ifndef REFOLD_CLINUX_SHIM_H
#define REFOLD_CLINUX_SHIM_H
/* Linux calls Swift cannot make directly (prctl is variadic). */
#include <sys/prctl.h>
#include <signal.h>

/* Ask the kernel to send `signal` to this process when its parent thread dies. */
static inline int refold_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#endif
