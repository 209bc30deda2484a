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

#endif
