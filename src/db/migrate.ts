import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Database } from "./database.ts";
import { dialectOf } from "./database.ts";
import * as initial from "./migrations/001-initial.ts";

type Migration = { id: string; up(db: Kysely<unknown>): Promise<void> };

/** Every migration, oldest first. Never edit one that has shipped: add the next. */
const migrations: readonly Migration[] = [{ id: "001-initial", ...initial }];

/**
 * Applies the migrations not yet applied, each in its own transaction. Safe to run from several
 * processes at once: on PostgreSQL an advisory lock serialises them; SQLite has one writer anyway.
 */
export async function migrateToLatest(db: Database): Promise<string[]> {
  await db.schema
    .createTable("mamori_migration")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("applied_at", "text", (c) => c.notNull())
    .execute();
  const applied: string[] = [];
  await db.transaction().execute(async (trx) => {
    if (dialectOf(db) === "postgres") await sql`select pg_advisory_xact_lock(7366269)`.execute(trx);
    const done = new Set((await trx.selectFrom("mamori_migration").select("id").execute()).map((r) => r.id));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await migration.up(trx as unknown as Kysely<unknown>);
      await trx
        .insertInto("mamori_migration")
        .values({ id: migration.id, applied_at: new Date().toISOString() })
        .execute();
      applied.push(migration.id);
    }
  });
  return applied;
}
