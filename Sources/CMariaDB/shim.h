#ifndef REFOLD_CMARIADB_SHIM_H
#define REFOLD_CMARIADB_SHIM_H
/* MariaDB Connector/C from Debian's libmariadb-dev (speaks to MySQL and MariaDB servers). */
#include <mariadb/mysql.h>
#include <mariadb/errmsg.h>
#include <mariadb/mysqld_error.h>
#endif
