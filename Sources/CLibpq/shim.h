#ifndef REFOLD_CLIBPQ_SHIM_H
#define REFOLD_CLIBPQ_SHIM_H
/* Debian's libpq-dev puts the headers in /usr/include/postgresql (named here directly, since
   pkg-config's flags for libpq carry -D_FILE_OFFSET_BITS=64, which SwiftPM refuses). */
#include <postgresql/libpq-fe.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* libpq is loaded when PostgreSQL is first used, not when refold starts: linked, it and the
   libraries it pulls in (Kerberos, LDAP, TLS: about twenty) cost every refold process ~8 ms
   of start-up, SQLite-only runs included. `refold_pq_load` resolves every function Refold
   calls at once; Swift calls them through the table it returns. */
#define REFOLD_PQ_EACH(X) \
    X(PQclear) X(PQresultStatus) X(PQfreemem) X(PQexec) X(PQerrorMessage) X(PQstatus) \
    X(PQresultErrorField) X(PQgetResult) X(PQfinish) X(PQconsumeInput) X(PQsocket) \
    X(PQsetNoticeProcessor) X(PQputCopyEnd) X(PQputCopyData) X(PQntuples) X(PQnotifies) \
    X(PQnfields) X(PQgetvalue) X(PQgetisnull) X(PQgetCopyData) X(PQgetCancel) X(PQfreeCancel) \
    X(PQexecParams) X(PQescapeLiteral) X(PQconnectdb) X(PQcmdTuples) X(PQcancel)

typedef struct refold_pq_api {
#define REFOLD_PQ_FIELD(name) __typeof__(&name) _Nonnull name;
    REFOLD_PQ_EACH(REFOLD_PQ_FIELD)
#undef REFOLD_PQ_FIELD
} refold_pq_api;

/* The loaded state, kept in function-local statics: Swift emits a header's inline functions
   (with their statics) but not its global variables. */
typedef struct refold_pq_state {
    refold_pq_api table;
    int ready;
    char problem[512];
} refold_pq_state;

static inline refold_pq_state *_Nonnull refold_pq_shared(void) {
    static refold_pq_state state;
    return &state;
}

static inline void refold_pq_load_once(void) {
    refold_pq_state *state = refold_pq_shared();
    /* REFOLD_LIBPQ names another file to load (a library outside the loader's path). */
    const char *path = getenv("REFOLD_LIBPQ");
    if (!path || !*path) path = "libpq.so.5";
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(state->problem, sizeof state->problem, "%s", dlerror());
        return;
    }
#define REFOLD_PQ_LOAD(name) \
    *(void **)&state->table.name = dlsym(library, #name); \
    if (!state->table.name) { \
        snprintf(state->problem, sizeof state->problem, "%s has no %s", path, #name); \
        return; \
    }
    REFOLD_PQ_EACH(REFOLD_PQ_LOAD)
#undef REFOLD_PQ_LOAD
    state->ready = 1;
}

/* The table of the library's functions, or NULL with `*problem` set to why it could not be loaded. */
static inline const refold_pq_api *_Nullable refold_pq_load(const char *_Nullable *_Nonnull problem) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, refold_pq_load_once);
    refold_pq_state *state = refold_pq_shared();
    if (state->ready) return &state->table;
    *problem = state->problem;
    return NULL;
}
#endif
