#ifndef REFOLD_CLINUX_SHIM_H
#define REFOLD_CLINUX_SHIM_H
/* Linux calls Swift cannot make directly (prctl is variadic). */
#include <sys/prctl.h>
#include <signal.h>
#include <string.h>

/* Names the calling thread for ps/top (the kernel keeps 15 bytes and a NUL). */
static inline int refold_name_this_thread(const char *name) {
    char short_name[16];
    strncpy(short_name, name, 15);
    short_name[15] = 0;
    return prctl(PR_SET_NAME, (unsigned long)short_name, 0UL, 0UL, 0UL);
}

/* Ask the kernel to send `signal` to this process when its parent thread dies. */
static inline int refold_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#endif
