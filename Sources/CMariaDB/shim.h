#ifndef REFOLD_CMARIADB_SHIM_H
#define REFOLD_CMARIADB_SHIM_H
/* MariaDB Connector/C from Debian's libmariadb-dev (speaks to MySQL and MariaDB servers). */
#include <mariadb/mysql.h>
#include <mariadb/errmsg.h>
#include <mariadb/mysqld_error.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Connector/C is loaded when MySQL/MariaDB is first used, not when refold starts (see CLibpq's
   shim: linked, it and its TLS libraries cost every refold process part of its start-up).
   `refold_my_load` resolves every function Refold calls at once. */
#define REFOLD_MY_EACH(X) \
    X(mysql_options) X(mysql_use_result) X(mysql_errno) X(mysql_real_escape_string) \
    X(mysql_num_fields) X(mysql_free_result) X(mysql_fetch_row) X(mysql_fetch_lengths) \
    X(mysql_error) X(mysql_close) X(mysql_thread_id) X(mysql_store_result) X(mysql_real_query) \
    X(mysql_real_connect) X(mysql_insert_id) X(mysql_init) X(mysql_field_count) X(mysql_affected_rows)

typedef struct refold_my_api {
#define REFOLD_MY_FIELD(name) __typeof__(&name) _Nonnull name;
    REFOLD_MY_EACH(REFOLD_MY_FIELD)
#undef REFOLD_MY_FIELD
} refold_my_api;

/* The loaded state, kept in function-local statics: Swift emits a header's inline functions
   (with their statics) but not its global variables. */
typedef struct refold_my_state {
    refold_my_api table;
    int ready;
    char problem[512];
} refold_my_state;

static inline refold_my_state *_Nonnull refold_my_shared(void) {
    static refold_my_state state;
    return &state;
}

static inline void refold_my_load_once(void) {
    refold_my_state *state = refold_my_shared();
    /* REFOLD_LIBMARIADB names another file to load (a library outside the loader's path). */
    const char *path = getenv("REFOLD_LIBMARIADB");
    if (!path || !*path) path = "libmariadb.so.3";
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(state->problem, sizeof state->problem, "%s", dlerror());
        return;
    }
#define REFOLD_MY_LOAD(name) \
    *(void **)&state->table.name = dlsym(library, #name); \
    if (!state->table.name) { \
        snprintf(state->problem, sizeof state->problem, "%s has no %s", path, #name); \
        return; \
    }
    REFOLD_MY_EACH(REFOLD_MY_LOAD)
#undef REFOLD_MY_LOAD
    state->ready = 1;
}

/* The table of the library's functions, or NULL with `*problem` set to why it could not be loaded. */
static inline const refold_my_api *_Nullable refold_my_load(const char *_Nullable *_Nonnull problem) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, refold_my_load_once);
    refold_my_state *state = refold_my_shared();
    if (state->ready) return &state->table;
    *problem = state->problem;
    return NULL;
}
#endif
