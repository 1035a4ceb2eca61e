import assert from "node:assert/strict";
import { test } from "node:test";
import { runHousekeeping } from "../../src/operations/housekeeping.ts";
import { assertApiError, buildTestApp, strongPassword, type TestApp } from "../support/app.ts";
import { location, openForm, postForm } from "../support/forms.ts";

// A registration nobody finished keeps an argon2id hash of a password, a name and an address that
// no one will ever use. Once its code has expired, the periodic housekeeping (every serving
// process; `npx mamori purge` too) deletes it and its codes. Attack it limits: a copied or leaked
// database holding months of abandoned sign-ups' password hashes, to crack offline and try at
// the other shops those people use.

async function startRegistration(s: TestApp, email: string): Promise<string> {
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword, locale: "ja" },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json<{ registration: { id: string } }>().registration.id;
}

async function registrationRows(s: TestApp, ids: string[]) {
  return s.db.selectFrom("registration").select(["id", "password_hash"]).where("id", "in", ids).execute();
}

async function codeRows(s: TestApp, ids: string[]) {
  return s.db.selectFrom("verification_code").select("flow_id").where("flow_id", "in", ids).execute();
}

test("unfinished registrations and their password hashes are purged after their code expires", async (t) => {
  const s = await buildTestApp(t);
  const abandoned = await startRegistration(s, "abandoned@example.jp");
  const exhausted = await startRegistration(s, "exhausted@example.jp");
  for (let i = 0; i < s.config.limits.codeMaxAttempts; i++) {
    await s.inject({
      method: "POST",
      url: `/api/v1/registrations/${exhausted}/verify`,
      payload: { code: "000000" },
    });
  }
  const hashes = (await registrationRows(s, [abandoned, exhausted])).map((row) => row.password_hash);
  assert.equal(hashes.length, 2);

  // Not yet: a code still alive keeps its registration.
  s.clock.advance(s.config.limits.emailCodeLifetimeSeconds - 60);
  const live = await startRegistration(s, "live@example.jp");
  assert.deepEqual(await runHousekeeping(s.deps), {
    registrations: 0,
    erasedAccounts: 0,
    twoStepRecoveries: 0,
  });
  assert.equal((await registrationRows(s, [abandoned, exhausted])).length, 2);

  s.clock.advance(61);
  assert.deepEqual(await runHousekeeping(s.deps), {
    registrations: 2,
    erasedAccounts: 0,
    twoStepRecoveries: 0,
  });
  assert.deepEqual(await registrationRows(s, [abandoned, exhausted]), []);
  assert.deepEqual(await codeRows(s, [abandoned, exhausted]), [], "their codes went too");
  const left = await s.db
    .selectFrom("registration")
    .select("id")
    .where("password_hash", "in", hashes)
    .execute();
  assert.deepEqual(left, [], "no row holds their password hashes");
  assert.equal((await registrationRows(s, [live])).length, 1, "the live registration stays");
  assert.equal((await codeRows(s, [live])).length, 1);

  // The purged registration answers as one that never existed: a 404, never a 500.
  const code = (await s.latestCode("abandoned@example.jp")) ?? "";
  const verify = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${abandoned}/verify`,
    payload: { code },
  });
  assertApiError(verify, 404, "registration_not_found");
  const resend = await s.inject({ method: "POST", url: `/api/v1/registrations/${abandoned}/resend` });
  assertApiError(resend, 404, "registration_not_found");
  const page = await openForm(s, "/sign-up");
  const posted = await postForm(s, "/sign-up/verify", page, {
    _csrf: page.csrf,
    registration: abandoned,
    code,
  });
  assert.ok(posted.statusCode < 500, posted.body);
  assert.equal(location(posted), "/sign-up", "the page sends the person back to sign up");
});

test("purges and verifications racing over an expired registration all answer without a 500", async (t) => {
  const s = await buildTestApp(t);
  const ids = await Promise.all(
    Array.from({ length: 5 }, (_, i) => startRegistration(s, `racer${i}@example.jp`)),
  );
  const codes = await Promise.all(ids.map((_, i) => s.latestCode(`racer${i}@example.jp`)));
  s.clock.advance(s.config.limits.emailCodeLifetimeSeconds + 1);
  const [purges, verifies] = await Promise.all([
    Promise.all(Array.from({ length: 4 }, () => runHousekeeping(s.deps))),
    Promise.all(
      ids.map((id, i) =>
        s.inject({ method: "POST", url: `/api/v1/registrations/${id}/verify`, payload: { code: codes[i] } }),
      ),
    ),
  ]);
  assert.equal(
    purges.reduce((sum, purged) => sum + purged.registrations, 0),
    ids.length,
    "each registration purged once",
  );
  for (const response of verifies) {
    assert.ok([404, 410].includes(response.statusCode), response.body);
  }
  assert.deepEqual(await registrationRows(s, ids), []);
  assert.deepEqual(
    await s.db.selectFrom("account").select("id").execute(),
    [],
    "no account from an expired code",
  );
});
