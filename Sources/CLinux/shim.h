#ifndef REFOLD_CLINUX_SHIM_H
#define REFOLD_CLINUX_SHIM_H
/* Linux calls Swift cannot make directly (prctl is variadic). */
#include <sys/prctl.h>
#include <signal.h>
#include <string.h>
#include <spawn.h>
#include <malloc.h>

/* glibc (2.29+) has it, but declares it only under _GNU_SOURCE. */
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *__restrict actions, const char *__restrict path);

/* A spawned child starts in `path`. */
static inline int refold_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

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
/* One malloc arena for the process, grown `top_pad` bytes at a time (a fold's worker). */
static inline void refold_one_growing_arena(int top_pad) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TOP_PAD, top_pad);
}
#endif
