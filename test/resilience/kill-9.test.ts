import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { after, describe, test } from "node:test";
import type { Database } from "../../src/db/database.ts";
import { dialects, openTestDatabase, stopSharedPostgres } from "../support/databases.ts";
import { eventTimeoutMs, waitFor } from "../support/patience.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";

// A server killed with SIGKILL in the middle of 200 registrations and password changes (a crash,
// an out-of-memory kill, a pulled plug of the process): after a restart on the same database,
// every answer the server had given still holds, and nothing is half-written.

after(stopSharedPostgres);

const oldPassword = "Kanata-Hoshi-5521-Umi";
const newPassword = "Nagisa-Tsuki-8803-Kaze";
const limits = { MAMORI_REGISTRATIONS_PER_IP_PER_HOUR: "100000", MAMORI_SIGN_IN_FAILURES_PER_IP: "100000" };

async function post(server: MamoriServer, path: string, body: object, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, {
    method: path === "/api/v1/security/password" ? "PUT" : "POST",
    headers: { "content-type": "application/json", origin: server.url, ...headers },
    body: JSON.stringify(body),
    // 200 requests are queued at one process on purpose: each may wait long on a busy machine.
    signal: AbortSignal.timeout(eventTimeoutMs),
  });
}

/**
 * The code mailed to `email`, read from the database the test shares with the server (asking the
 * server's development outbox 180 times at once would be load of the test's own making).
 */
async function codeFor(db: Database, email: string): Promise<string> {
  return waitFor(`the code for ${email}`, async () => {
    const row = await db
      .selectFrom("outbox_message")
      .select("dev_code")
      .where("recipient", "=", email)
      .where("template", "=", "registration_code")
      .executeTakeFirst();
    return row?.dev_code ?? undefined;
  });
}

/** Registers through the API; true once the server answered 201 to the code (the account exists). */
async function register(server: MamoriServer, db: Database, email: string): Promise<boolean> {
  const started = await post(server, "/api/v1/registrations", {
    name: "耐久 試験",
    email,
    password: oldPassword,
  });
  if (started.status !== 201) return false;
  const { registration } = (await started.json()) as { registration: { id: string; flowToken: string } };
  const code = await codeFor(db, email);
  const verified = await post(
    server,
    `/api/v1/registrations/${registration.id}/verify`,
    { code },
    { "x-mamori-flow-token": registration.flowToken },
  );
  return verified.status === 201;
}

async function signIn(server: MamoriServer, email: string, password: string): Promise<Response> {
  return post(server, "/api/v1/sign-in", { identifier: email, password });
}

for (const dialect of dialects) {
  describe(`kill -9 (${dialect})`, () => {
    test("a server killed mid-way through 200 registrations and password changes loses and corrupts nothing", async (t) => {
      const database = await openTestDatabase(dialect);
      t.after(() => database.close());
      const env = { DATABASE_URL: database.url, ...limits };
      const first = await startMamori(env);
      t.after(() => first.stop());

      // Twenty existing accounts, signed in, whose owners will change their passwords.
      const owners: { email: string; cookie: string }[] = [];
      for (let i = 0; i < 20; i++) {
        const email = `owner${i}@example.jp`;
        assert.equal(await register(first, database.db, email), true);
        const response = await signIn(first, email, oldPassword);
        const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
        owners.push({ email, cookie });
      }

      const registered: string[] = [];
      const changed: string[] = [];
      const work: Promise<void>[] = [];
      // The moment to kill: the 40th registration answered (an event, however slow the machine).
      let fortyAnswered: () => void = () => {};
      const fortieth = new Promise<void>((resolve) => {
        fortyAnswered = resolve;
      });
      for (let i = 0; i < 180; i++) {
        const email = `newcomer${i}@example.jp`;
        work.push(
          register(first, database.db, email).then(
            (ok) => {
              if (ok && registered.push(email) === 40) fortyAnswered();
            },
            () => undefined,
          ),
        );
      }
      for (const owner of owners) {
        work.push(
          post(
            first,
            "/api/v1/security/password",
            { currentPassword: oldPassword, newPassword },
            { cookie: owner.cookie },
          )
            .then((response) => void (response.status === 200 && changed.push(owner.email)))
            .catch(() => undefined),
        );
      }
      // Kill once a good part of the work was answered, while the rest is in flight. The cap only
      // turns a server that stopped answering into a failure (below), never the moment of the kill.
      let cap: NodeJS.Timeout | undefined;
      await Promise.race([
        fortieth,
        Promise.all(work),
        new Promise((resolve) => {
          cap = setTimeout(resolve, eventTimeoutMs);
        }),
      ]);
      clearTimeout(cap);
      await first.kill();
      await Promise.all(work);
      assert.ok(
        registered.length >= 40,
        `only ${registered.length} registrations were answered before the kill`,
      );
      assert.ok(registered.length < 180, "the kill came while work was still in flight");

      const second = await startMamori(env);
      t.after(() => second.stop());
      for (const email of registered) {
        assert.equal(
          (await signIn(second, email, oldPassword)).status,
          200,
          `${email} was answered 201 and must exist`,
        );
      }
      for (const owner of owners) {
        const expected = changed.includes(owner.email) ? newPassword : undefined;
        if (expected) {
          assert.equal(
            (await signIn(second, owner.email, expected)).status,
            200,
            `${owner.email}'s change was answered`,
          );
        } else {
          // A change in flight at the kill either happened whole or not at all.
          const statuses = [
            (await signIn(second, owner.email, oldPassword)).status,
            (await signIn(second, owner.email, newPassword)).status,
          ];
          assert.deepEqual(statuses.sort(), [200, 401], owner.email);
        }
      }

      // No half-written account: every account has its password, its verified email and its history.
      const accounts = await database.db
        .selectFrom("account")
        .select(["id", "password_hash", "email_verified_at"])
        .execute();
      const history = await database.db.selectFrom("password_history").select("account_id").execute();
      for (const account of accounts) {
        assert.ok(account.password_hash && account.email_verified_at, account.id);
        assert.ok(
          history.some((row) => row.account_id === account.id),
          `${account.id} has no password history`,
        );
      }
      const orphans = await database.db
        .selectFrom("registration")
        .select("id")
        .where("state", "=", "completed")
        .where("account_id", "not in", accounts.map((a) => a.id).concat(["-"]))
        .execute();
      assert.deepEqual(orphans, []);
      if (dialect === "sqlite") {
        const raw = new DatabaseSync(database.url.slice("sqlite:".length));
        try {
          assert.deepEqual(
            raw
              .prepare("pragma integrity_check")
              .all()
              .map((row) => ({ ...row })),
            [{ integrity_check: "ok" }],
          );
        } finally {
          raw.close();
        }
      }
    });
  });
}
