import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { runCli } from "../../src/cli/main.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";

export type CliRun = { status: number; out: string; err: string };

/**
 * The operator's CLI as `npx mamori` runs it: configuration from the environment, a SQLite file
 * of its own (migrated before the file's tests, removed after), and what it printed. `env` is set
 * on top (cheap argon2id, say) for the whole test file.
 */
export function cliOnTestDatabase(
  name: string,
  env: Record<string, string> = {},
): { mamori(...argv: string[]): Promise<CliRun>; db(): Database } {
  const directory = mkdtempSync(join(tmpdir(), `mamori-${name}-`));
  Object.assign(process.env, {
    DATABASE_URL: `sqlite:${join(directory, "mamori.db")}`,
    NODE_ENV: "test",
    ...env,
  });

  async function mamori(...argv: string[]): Promise<CliRun> {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { status, out: out.join("\n"), err: err.join("\n") };
  }

  let database: Database | undefined;
  before(async () => {
    assert.equal((await mamori("migrate")).status, 0);
    database = openDatabase(process.env.DATABASE_URL ?? "");
  });
  after(async () => {
    await database?.destroy();
    rmSync(directory, { recursive: true, force: true });
  });
  return {
    mamori,
    db: () => {
      if (!database) throw new Error("the CLI's database is opened before the tests");
      return database;
    },
  };
}
