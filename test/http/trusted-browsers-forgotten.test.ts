import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import {
  accountWithApp,
  challengeFor,
  oathtoolCode,
  type TwoStepAccount,
  verifyChallenge,
} from "../support/two-step.ts";

// Attack: a thief who knew the old password and once passed two-step on a browser (a shared PC,
// a stolen laptop) keeps that browser's "don't ask again" cookie. The owner changes or resets the
// password; if the browser stayed trusted, the thief would need only the new password, never the
// second factor again. A new password forgets every trusted browser, so the thief's browser must
// pass two-step once more. Runs on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const newPassword = "Hoshizora-Kaede-5529-Ringo";

function trustedCookieOf(response: LightMyRequestResponse): string {
  const raw = response.headers["set-cookie"];
  const cookie = (Array.isArray(raw) ? raw : [String(raw)]).find((c) => c.startsWith("mamori_trusted="));
  assert.ok(cookie, "the trusted-browser cookie is set");
  return cookie.split(";")[0] as string;
}

/** A browser that passed two-step with "don't ask again", checked to skip the code before the change. */
async function trustedBrowser(app: TestApp, owner: TwoStepAccount): Promise<string> {
  const challenge = await challengeFor(app, owner.email, owner.password);
  const verified = await verifyChallenge(app, challenge, {
    code: oathtoolCode(owner.secret, app.clock.now()),
    trustDevice: true,
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const cookie = trustedCookieOf(verified);
  const skipped = await app.signIn({ identifier: owner.email, password: owner.password }, { cookie });
  assert.equal(skipped.json<{ status: string }>().status, "signed_in", "trusted before the change");
  app.clock.advance(30);
  return cookie;
}

async function statusFrom(app: TestApp, email: string, password: string, cookie: string): Promise<string> {
  const response = await app.signIn({ identifier: email, password }, { cookie });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<{ status: string }>().status;
}

test("trusted browsers are forgotten when the password is changed", async (t) => {
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  const cookie = await trustedBrowser(app, owner);

  const changed = await app.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: owner.cookie, ...sameOrigin(app.config) },
    payload: { currentPassword: owner.password, newPassword },
  });
  assert.equal(changed.statusCode, 200, changed.body);

  assert.equal(await statusFrom(app, owner.email, newPassword, cookie), "two_step_required");
  const rows = await app.db
    .selectFrom("trusted_device")
    .select("revoked_at")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.ok(rows.length > 0);
  assert.ok(
    rows.every((row) => row.revoked_at !== null),
    "every trusted browser is revoked",
  );
});

test("trusted browsers are forgotten when the password is reset", async (t) => {
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  const cookie = await trustedBrowser(app, owner);

  const requested = await app.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: owner.email },
  });
  assert.equal(requested.statusCode, 202, requested.body);
  const id = requested.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const code = await app.latestCode(owner.email, "password_reset_code");
  assert.ok(code);
  const verified = await app.inject({
    method: "POST",
    url: `/api/v1/password-resets/${id}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const completed = await app.inject({
    method: "POST",
    url: `/api/v1/password-resets/${id}/complete`,
    payload: { newPassword },
  });
  assert.equal(completed.statusCode, 200, completed.body);

  assert.equal(await statusFrom(app, owner.email, newPassword, cookie), "two_step_required");
});
