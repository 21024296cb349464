// The system catalogs differ between PostgreSQL majors, and Ferry reads them on sources and
// targets of 13 to 17. Every catalog column that is not in all of those goes through here,
// chosen by server_version_num, so a query never names a column the server lacks:
//   - database locale provider: pg_database.datlocprovider since 15 (before, libc only);
//   - its ICU locale: daticulocale in 15 and 16, renamed datlocale in 17 (which also holds
//     the new builtin provider's locale);
//   - a collation's ICU locale: collcollate in 13 and 14, colliculocale in 15 and 16,
//     colllocale in 17 (builtin too). collprovider itself exists since 10.
import type { Pool } from 'pg';

/** Oldest server_version_num whose catalogs Ferry's queries are written for. */
export const OLDEST_SUPPORTED = 130000;

const versions = new WeakMap<Pool, Promise<number>>();

/** server_version_num of a pool's server, asked once per pool. */
export function serverVersion(pool: Pool): Promise<number> {
  let v = versions.get(pool);
  if (!v) {
    v = pool.query(`SELECT current_setting('server_version_num')::int AS v`).then((r) => Number(r.rows[0].v));
    v.catch(() => versions.delete(pool));
    versions.set(pool, v);
  }
  return v;
}

/**
 * The current database's default ordering: provider ('c' libc, 'i' ICU, 'b' builtin), its
 * libc collation, and the ICU or builtin locale (null for libc).
 */
export function databaseLocaleSql(version: number): string {
  const [provider, locale] =
    version >= 170000 ? ['datlocprovider::text', 'datlocale'] : version >= 150000 ? ['datlocprovider::text', 'daticulocale'] : [`'c'::text`, 'NULL::text'];
  return `SELECT ${provider} AS provider, datcollate AS collate, ${locale} AS locale FROM pg_database WHERE datname = current_database()`;
}

/** The pg_collation column (of alias `alias`) that holds an ICU collation's locale. */
export function icuLocaleColumn(version: number, alias = 'c'): string {
  return `${alias}.${version >= 170000 ? 'colllocale' : version >= 150000 ? 'colliculocale' : 'collcollate'}`;
}
