/**
 * The one database interface every repository uses. Two drivers implement it: embedded PGlite (one
 * connection, in-process) and node-postgres (a pool). SQL stays visible in the repositories; both drivers
 * return the same JS types (see types.ts), so a repository never knows which one it runs on.
 */
export type Row = Record<string, unknown>;

export interface Sql {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Database extends Sql {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Runs parameterless SQL that may hold several statements (migrations, DDL). */
  exec(text: string): Promise<void>;
  close(): Promise<void>;
}

export async function one<T extends Row>(sql: Sql, text: string, params?: readonly unknown[]): Promise<T | undefined> {
  const rows = await sql.query<T>(text, params);
  return rows[0];
}
