import { type Kysely, sql } from "kysely";
import { dialectOf } from "../database.ts";
import type { Schema } from "../schema.ts";

/**
 * PostgreSQL's change feed of the rows the session cache holds (src/session/session-cache-postgres.ts,
 * decision 0024): every UPDATE or DELETE of a `session` row notifies `s<session id>`, of an `account`
 * row `a<account id>`, and a TRUNCATE of either `*`, on the channel `mamori_session_changes`, in the
 * transaction that made the change (delivered when, and only if, it commits). A trigger rather than
 * a NOTIFY beside each writer: every writer is covered, today's (sign-out, revocations, suspension,
 * closing, password change, two-step changes, assurance level, secret rotation, the once-a-minute
 * touch) and tomorrow's, the CLI and a hand-typed UPDATE in psql too. A new session (INSERT) needs
 * none: the cache never holds a row that was not there. SQLite has no feed (its cache watches
 * PRAGMA data_version, src/db/sqlite-changes.ts): nothing to do there.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // The migration runs on the same handle type as the rest of the schema; only its dialect matters.
  if (dialectOf(db as unknown as Kysely<Schema>) !== "postgres") return;
  await sql`
    create or replace function mamori_session_change_notify() returns trigger
    language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then
        perform pg_notify('mamori_session_changes', '*');
      elsif tg_table_name = 'session' then
        perform pg_notify('mamori_session_changes', 's' || old.id);
      else
        perform pg_notify('mamori_session_changes', 'a' || old.id);
      end if;
      return null;
    end
    $$`.execute(db);
  for (const table of ["session", "account"]) {
    await sql`
      create trigger ${sql.raw(`mamori_${table}_change_feed`)}
      after update or delete on ${sql.table(table)}
      for each row execute function mamori_session_change_notify()`.execute(db);
    await sql`
      create trigger ${sql.raw(`mamori_${table}_truncate_feed`)}
      after truncate on ${sql.table(table)}
      for each statement execute function mamori_session_change_notify()`.execute(db);
  }
}
