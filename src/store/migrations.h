/*
 * Schema migrations, applied in order by db_migrate(). Each entry is SQL in
 * the dialect SQLite and PostgreSQL share; `sqlite` or `pgsql` overrides the
 * common text for one engine where the dialects must differ.
 */
#ifndef KONTOR_STORE_MIGRATIONS_H
#define KONTOR_STORE_MIGRATIONS_H

struct db_migration {
	int version;
	const char *name;
	const char *common;
	const char *sqlite; /* NULL: use common */
	const char *pgsql;  /* NULL: use common */
};

extern const struct db_migration db_migrations[];
extern const int db_migration_count;

/*
 * SQLite-only code for a migration that SQL alone cannot express, such as
 * rebuilding a table under a new definition. db_migrate runs `apply` in
 * place of the migration's SQL, inside its transaction, with foreign keys
 * off (SQLite's documented way to rebuild a table others refer to), checks
 * every foreign key before committing, and truncates the WAL afterwards.
 * `apply` returns a db status.
 */
struct db_conn;
struct db_sqlite_rebuild {
	int version;
	int (*apply)(struct db_conn *c);
};

extern const struct db_sqlite_rebuild db_sqlite_rebuilds[];
extern const int db_sqlite_rebuild_count;

#endif
