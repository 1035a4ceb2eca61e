import assert from "node:assert/strict";
import { after, test } from "node:test";
import { parseOptions } from "@node-rs/argon2";
import { hashPassword, verifyPassword } from "../../src/passwords/hashing.ts";
import { assertApiError, buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";

// What sign-in does with the stored argon2id hash: an old hash is upgraded to today's parameters
// at the next right password, and a stored value that is not a valid hash (corruption, a bad
// import, a hand-edited row) never signs anyone in and never crashes the request. Runs on SQLite,
// and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

async function storedHash(app: TestApp, accountId: string): Promise<string> {
  const row = await app.db
    .selectFrom("account")
    .select("password_hash")
    .where("id", "=", accountId)
    .executeTakeFirstOrThrow();
  assert.ok(row.password_hash);
  return row.password_hash;
}

async function storeHash(app: TestApp, accountId: string, passwordHash: string): Promise<void> {
  await app.db
    .updateTable("account")
    .set({ password_hash: passwordHash })
    .where("id", "=", accountId)
    .execute();
}

test("a password hash made with older argon2 parameters is re-hashed with today's at sign-in", async (t) => {
  // Attack it stops: hashes made when the cost was lower stay cheap to crack after a database
  // leak unless each is upgraded when its password is next proven. (The test app runs argon2id
  // at m=1024 KiB, t=1; the old hash here is m=512, t=2.)
  const app = await buildTestApp(t);
  const account = await app.registerAccount();
  const old = await hashPassword(account.password, { memoryKib: 512, iterations: 2 });
  await storeHash(app, account.accountId, old);

  // A wrong password upgrades nothing.
  assertApiError(
    await app.signIn({ identifier: account.email, password: "Not-The-Password-42" }),
    401,
    "invalid_credentials",
  );
  assert.equal(await storedHash(app, account.accountId), old);

  const signedIn = await app.signIn({ identifier: account.email, password: account.password });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  const upgraded = await storedHash(app, account.accountId);
  assert.notEqual(upgraded, old);
  const options = parseOptions(upgraded);
  assert.deepEqual([options.memoryCost, options.timeCost, options.parallelism], [1024, 1, 1]);
  assert.equal(
    await verifyPassword(upgraded, account.password),
    true,
    "the new hash is of the same password",
  );
  const events = await app.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", account.accountId)
    .where("type", "=", "password.rehashed")
    .execute();
  assert.equal(events.length, 1);

  // Today's hash is left alone at the next sign-in.
  app.clock.advance(60);
  assert.equal((await app.signIn({ identifier: account.email, password: account.password })).statusCode, 200);
  assert.equal(await storedHash(app, account.accountId), upgraded);
});

test("a malformed stored password hash fails closed: invalid_credentials, never a 500 or a sign-in", async (t) => {
  // Attack it stops: a row whose hash is not a hash (truncated in a migration, a plain value
  // imported by mistake) must not turn into "any password works" or "the password itself works".
  const app = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "100" } });
  const account = await app.registerAccount();
  const real = await storedHash(app, account.accountId);
  const malformed = [
    "not-a-hash",
    account.password, // the password stored in the clear
    real.slice(0, real.length - 10), // truncated
    real.replace("$argon2id$", "$argon2xx$"),
    "$argon2id$v=19$m=1024,t=1,p=1$",
    "$2b$10$abcdefghijklmnopqrstuuJ0yC4fE0zTtYQ5fZ7J9c3H2lYw6nW6", // bcrypt-shaped
  ];
  for (const value of malformed) {
    await storeHash(app, account.accountId, value);
    for (const password of [account.password, value, ""]) {
      const response = await app.signIn({ identifier: account.email, password });
      if (password === "") {
        assert.equal(response.statusCode, 400, `empty password against ${value}`);
        continue;
      }
      assertApiError(response, 401, "invalid_credentials");
      assert.equal(response.headers["set-cookie"], undefined, `no session with the stored value ${value}`);
    }
  }
  const sessions = await app.db
    .selectFrom("session")
    .select("id")
    .where("account_id", "=", account.accountId)
    .execute();
  assert.equal(sessions.length, 1, "only the registration's session exists");
});
