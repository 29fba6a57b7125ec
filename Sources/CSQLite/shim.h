#ifndef REFOLD_CSQLITE_SHIM_H
#define REFOLD_CSQLITE_SHIM_H
#include <sqlite3.h>
#include <stdint.h>
#include <time.h>

/* A busy handler that retries every 200 µs up to the timeout (milliseconds, passed as the
   handler's argument). SQLite's own busy_timeout backs off to 100 ms sleeps, so a short
   lock held by another process (a live writer's commit) costs up to 100 ms instead of
   a fraction of one. */
static inline int refold_sqlite_busy(void *timeout_ms, int count) {
    long limit = (long)(intptr_t)timeout_ms * 5; /* 200 µs steps */
    if (count >= limit) return 0;
    struct timespec pause = {0, 200000};
    nanosleep(&pause, 0);
    return 1;
}

static inline int refold_sqlite_set_busy_timeout(sqlite3 *db, int milliseconds) {
    return sqlite3_busy_handler(db, refold_sqlite_busy, (void *)(intptr_t)milliseconds);
}

/* SQLITE_TRANSIENT is a macro cast Swift cannot import: tell SQLite to copy bound bytes. */
static inline void (*refold_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
#endif
