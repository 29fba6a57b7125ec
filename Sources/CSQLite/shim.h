#ifndef REFOLD_CSQLITE_SHIM_H
#define REFOLD_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro cast Swift cannot import: tell SQLite to copy bound bytes. */
static inline void (*refold_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
#endif
