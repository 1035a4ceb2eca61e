import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { assertApiError, buildTestApp, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { location, openForm, postForm } from "../support/forms.ts";
import { addPasskey, assertCloneSignalHandled, authenticationOptions } from "../support/passkeys.ts";
import { type AssertionJson, SoftwareAuthenticator } from "../support/software-authenticator.ts";
import { accountWithApp, call, oathtoolCode } from "../support/two-step.ts";

after(stopSharedPostgres);

// "Use a passkey instead" of the password (docs/decisions/0009-passkey-reauthentication.md): one of
// the signed-in account's passkeys is a recent sign-in; one that verified the person is a step-up too.

type Started = {
  challengeId: string;
  options: { challenge: string; rpId: string; allowCredentials: { id: string }[] };
};
type Reauthenticated = { authenticatedAt: string; steppedUp: boolean };

const optionsPath = "/api/v1/passkeys/reauthentication/options";
const verifyPath = "/api/v1/passkeys/reauthentication/verify";

async function reauthenticationOptions(app: TestApp, cookie: string): Promise<Started> {
  const response = await call(app, "POST", optionsPath, cookie);
  assert.equal(response.statusCode, 200, response.body);
  return response.json<Started>();
}

async function verifyReauthentication(
  app: TestApp,
  cookie: string,
  challengeId: string,
  credential: AssertionJson,
): Promise<LightMyRequestResponse> {
  return call(app, "POST", verifyPath, cookie, { challengeId, credential });
}

/** Options, the authenticator's assertion, verify: what "Use a passkey instead" does in a browser. */
async function reauthenticateWithPasskey(
  app: TestApp,
  cookie: string,
  authenticator: SoftwareAuthenticator,
  override: { origin?: string } = {},
): Promise<LightMyRequestResponse> {
  const started = await reauthenticationOptions(app, cookie);
  return verifyReauthentication(
    app,
    cookie,
    started.challengeId,
    authenticator.get(started.options, override),
  );
}

async function sessionRowOf(app: TestApp, accountId: string) {
  return app.db
    .selectFrom("session")
    .selectAll()
    .where("account_id", "=", accountId)
    .orderBy("created_at", "asc")
    .executeTakeFirstOrThrow();
}

async function ownerWithPasskey(app: TestApp, authenticator = new SoftwareAuthenticator()) {
  const owner = await app.registerAccount();
  const added = await addPasskey(app, owner.cookie, authenticator);
  assert.equal(added.statusCode, 201, added.body);
  return { owner, authenticator, passkeyId: added.json<{ passkey: { id: string } }>().passkey.id };
}

/** An account with two-step on (the app) and passkeys added after a step-up code. */
async function twoStepOwnerWithPasskeys(app: TestApp, authenticators: SoftwareAuthenticator[]) {
  const owner = await accountWithApp(app);
  const stepUp = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  assert.equal(stepUp.statusCode, 200, stepUp.body);
  const ids: string[] = [];
  for (const authenticator of authenticators) {
    const added = await addPasskey(app, owner.cookie, authenticator);
    assert.equal(added.statusCode, 201, added.body);
    ids.push(added.json<{ passkey: { id: string } }>().passkey.id);
  }
  return { owner, ids };
}

function addBackupPhone(app: TestApp, cookie: string): Promise<LightMyRequestResponse> {
  return call(app, "POST", "/api/v1/security/two-step/methods", cookie, {
    role: "backup",
    method: "sms",
    phone: "090-1234-5678",
  });
}

test("reauthentication with a passkey unlocks what a recent sign-in guards: an old session adds a two-step method", async (t) => {
  // Signed in long ago: adding a method needs the person again, and a passkey can be that proof.
  const app = await buildTestApp(t);
  const { owner, authenticator, passkeyId } = await ownerWithPasskey(app);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const refused = await call(app, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "totp",
  });
  assertApiError(refused, 403, "reauthentication_required");

  const started = await reauthenticationOptions(app, owner.cookie);
  // Only the signed-in account's passkeys are named.
  assert.deepEqual(
    started.options.allowCredentials.map((c) => c.id),
    [authenticator.id],
  );
  const response = await verifyReauthentication(
    app,
    owner.cookie,
    started.challengeId,
    authenticator.get(started.options),
  );
  assert.equal(response.statusCode, 200, response.body);
  assert.deepEqual(response.json<Reauthenticated>(), {
    authenticatedAt: app.clock.now().toISOString(),
    steppedUp: true,
  });
  // A privilege change gives the browser a new cookie value (no fixation carries it).
  assert.ok(sessionCookieHeader(response, app.config));
  const session = await sessionRowOf(app, owner.accountId);
  assert.equal(session.authenticated_at, app.clock.now().toISOString());

  const allowed = await call(app, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "totp",
  });
  assert.equal(allowed.statusCode, 201, allowed.body);

  const passkey = await app.db
    .selectFrom("passkey")
    .selectAll()
    .where("id", "=", passkeyId)
    .executeTakeFirstOrThrow();
  assert.equal(Number(passkey.sign_count), 1);
  assert.equal(passkey.last_used_at, session.authenticated_at);
  const audit = await app.db
    .selectFrom("audit_event")
    .select(["type", "detail"])
    .where("account_id", "=", owner.accountId)
    .where("type", "in", ["passkey.used", "session.reauthenticated_with_passkey"])
    .execute();
  assert.deepEqual(audit.map((e) => e.type).sort(), ["passkey.used", "session.reauthenticated_with_passkey"]);
});

test("reauthentication with a passkey never replaces the current password of a password change", async (t) => {
  // A password change always asks for the current password: a passkey does not weaken that.
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  const reauthenticated = await reauthenticateWithPasskey(app, owner.cookie, authenticator);
  assert.equal(reauthenticated.statusCode, 200, reauthenticated.body);
  const newPassword = "Hoshizora-Kitsune-4471-Sakana";
  const without = await call(app, "PUT", "/api/v1/security/password", owner.cookie, { newPassword });
  assertApiError(without, 400, "invalid_request");
  const wrong = await call(app, "PUT", "/api/v1/security/password", owner.cookie, {
    currentPassword: "not-the-password-at-all",
    newPassword,
  });
  assert.equal(assertApiError(wrong, 401, "invalid_credentials").field, "currentPassword");
  const changes = await app.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "password.changed")
    .execute();
  assert.equal(changes.length, 0, "the password is unchanged");
  assert.equal((await app.signIn({ identifier: owner.email, password: owner.password })).statusCode, 200);
});

test("a passkey with user verification also satisfies step-up: with two-step on, a passkey is removed without a code", async (t) => {
  const app = await buildTestApp(t);
  const kept = new SoftwareAuthenticator();
  const { owner, ids } = await twoStepOwnerWithPasskeys(app, [kept, new SoftwareAuthenticator()]);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  assertApiError(
    await call(app, "DELETE", `/api/v1/passkeys/${ids[1]}`, owner.cookie),
    403,
    "reauthentication_required",
  );
  const before = await sessionRowOf(app, owner.accountId);

  const response = await reauthenticateWithPasskey(app, owner.cookie, kept);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.json<Reauthenticated>().steppedUp, true);
  const session = await sessionRowOf(app, owner.accountId);
  const now = app.clock.now().toISOString();
  assert.equal(session.second_factor_at, now);
  assert.equal(session.authenticated_at, now);
  assert.equal(session.aal, 2);
  assert.deepEqual(JSON.parse(session.factors), [...JSON.parse(before.factors), "passkey_verified"]);

  const removed = await call(app, "DELETE", `/api/v1/passkeys/${ids[1]}`, owner.cookie);
  assert.equal(removed.statusCode, 204, removed.body);
  // Adding a method (step-up guarded as well) needs no code either.
  const backup = await addBackupPhone(app, owner.cookie);
  assert.equal(backup.statusCode, 201, backup.body);
  const left = await app.db
    .selectFrom("passkey")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.deepEqual(
    left.map((p) => p.id),
    [ids[0]],
  );
});

test("a passkey without user verification counts as reauthentication only, never as step-up", async (t) => {
  // One factor (the device, nobody checked) must not stand in for the code two-step asks for.
  const app = await buildTestApp(t);
  const unverified = new SoftwareAuthenticator({ userVerified: false });
  const { owner, ids } = await twoStepOwnerWithPasskeys(app, [unverified]);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const before = await sessionRowOf(app, owner.accountId);

  const response = await reauthenticateWithPasskey(app, owner.cookie, unverified);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.json<Reauthenticated>().steppedUp, false);
  const session = await sessionRowOf(app, owner.accountId);
  assert.equal(session.authenticated_at, app.clock.now().toISOString());
  assert.equal(session.second_factor_at, before.second_factor_at);
  assert.equal(session.aal, before.aal);
  assert.equal(session.factors, before.factors);

  // Recent sign-in: yes. Step-up: no.
  assertApiError(await addBackupPhone(app, owner.cookie), 403, "step_up_required");
  assertApiError(
    await call(app, "DELETE", `/api/v1/passkeys/${ids[0]}`, owner.cookie),
    403,
    "step_up_required",
  );
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 1);
});

test("another account's passkey is refused for reauthentication", async (t) => {
  // Someone with a stolen session and their own passkey must not prove they are the owner.
  const app = await buildTestApp(t);
  const { authenticator: strangers } = await ownerWithPasskey(app);
  const { owner } = await ownerWithPasskey(app);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const response = await reauthenticateWithPasskey(app, owner.cookie, strangers);
  assertApiError(response, 404, "passkey_not_found");
  const session = await sessionRowOf(app, owner.accountId);
  assert.notEqual(session.authenticated_at, app.clock.now().toISOString());
  assertApiError(
    await call(app, "POST", "/api/v1/passkeys/registration/options", owner.cookie),
    403,
    "reauthentication_required",
  );
});

test("an account without a passkey is told so: passkey_not_found, not a 500", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  assertApiError(await call(app, "POST", optionsPath, owner.cookie), 404, "passkey_not_found");
  assertApiError(await call(app, "POST", optionsPath, undefined), 401, "unauthenticated");
});

test("a replayed reauthentication assertion is refused: its challenge was used up", async (t) => {
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  const started = await reauthenticationOptions(app, owner.cookie);
  const assertion = authenticator.get(started.options);
  const first = await verifyReauthentication(app, owner.cookie, started.challengeId, assertion);
  assert.equal(first.statusCode, 200, first.body);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  // The same answer again finds its challenge spent...
  const replayed = await verifyReauthentication(app, owner.cookie, started.challengeId, assertion);
  assertApiError(replayed, 404, "challenge_not_found");
  // ...and under a new challenge its signature is over the old one.
  const fresh = await reauthenticationOptions(app, owner.cookie);
  assertApiError(
    await verifyReauthentication(app, owner.cookie, fresh.challengeId, assertion),
    400,
    "passkey_invalid",
  );
  const session = await sessionRowOf(app, owner.accountId);
  assert.notEqual(session.authenticated_at, app.clock.now().toISOString());
});

test("a reauthentication challenge belongs to the session that asked, and a sign-in challenge is not one", async (t) => {
  // A challenge signed in one browser must not lift another session (say, a thief's) as well.
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  const other = await app.signIn({ identifier: owner.email, password: owner.password });
  assert.equal(other.statusCode, 200, other.body);
  const otherCookie = sessionCookieHeader(other, app.config);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const started = await reauthenticationOptions(app, owner.cookie);
  const elsewhere = await verifyReauthentication(
    app,
    otherCookie,
    started.challengeId,
    authenticator.get(started.options),
  );
  assertApiError(elsewhere, 404, "challenge_not_found");
  const signIn = await authenticationOptions(app);
  const wrongPurpose = await verifyReauthentication(
    app,
    owner.cookie,
    signIn.challengeId,
    authenticator.get(signIn.options),
  );
  assertApiError(wrongPurpose, 404, "challenge_not_found");
  const sessions = await app.db
    .selectFrom("session")
    .select("authenticated_at")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.ok(sessions.every((s) => s.authenticated_at !== app.clock.now().toISOString()));
});

test("a counter going backwards refuses the reauthentication and mails the owner (a cloned authenticator)", async (t) => {
  const app = await buildTestApp(t);
  const { owner, authenticator, passkeyId } = await ownerWithPasskey(app);
  for (let i = 0; i < 3; i++) {
    app.clock.advance(1);
    assert.equal((await reauthenticateWithPasskey(app, owner.cookie, authenticator)).statusCode, 200);
  }
  authenticator.counter = 1;
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const response = await reauthenticateWithPasskey(app, owner.cookie, authenticator);
  assertApiError(response, 403, "passkey_clone_suspected");
  await assertCloneSignalHandled(app, owner, passkeyId, 3);
  assertApiError(
    await call(app, "POST", "/api/v1/passkeys/registration/options", owner.cookie),
    403,
    "reauthentication_required",
  );
});

test("refused passkeys count against the account's reauthentication limit: 429 with Retry-After", async (t) => {
  // A stolen session cannot try assertions (or passwords) without end.
  // The shipped limit, written out: 10 failures in a row (README, "Configuration").
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  for (let i = 0; i < 10; i++) {
    const refused = await reauthenticateWithPasskey(app, owner.cookie, authenticator, {
      origin: "https://mamori.example.net",
    });
    assertApiError(refused, 400, "passkey_invalid");
  }
  const locked = await reauthenticateWithPasskey(app, owner.cookie, authenticator);
  assertApiError(locked, 429, "too_many_attempts");
  assert.ok(Number(locked.headers["retry-after"]) > 0);
  const password = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assertApiError(password, 429, "too_many_attempts");
});

test("a malformed reauthentication answer is a 400, never a 500", async (t) => {
  const app = await buildTestApp(t);
  const { owner } = await ownerWithPasskey(app);
  const started = await reauthenticationOptions(app, owner.cookie);
  for (const body of [
    {},
    { challengeId: started.challengeId },
    { challengeId: started.challengeId, credential: { id: "x" } },
    { challengeId: started.challengeId, credential: "nope", extra: 1 },
  ]) {
    const response = await call(app, "POST", verifyPath, owner.cookie, body);
    assertApiError(response, 400, "invalid_request");
  }
});

test("passkey reauthentication is in the OpenAPI document", async (t) => {
  const app = await buildTestApp(t);
  const response = await app.inject({ method: "GET", url: "/api/openapi.json" });
  const paths = response.json<{ paths: Record<string, { post?: { tags?: string[] } }> }>().paths;
  for (const path of [optionsPath, verifyPath]) {
    assert.deepEqual(paths[path]?.post?.tags, ["passkeys"], path);
  }
});

// The pages, as a browser without JavaScript sees them: the password (or code) form works as it
// is; the passkey button is hidden until public/passkeys.js finds WebAuthn, and a note says why.

const reauthenticatePage = "/account/security/reauthenticate";

test("the reauthentication page offers a passkey only to an account that has one, and works without JavaScript", async (t) => {
  const app = await buildTestApp(t);
  const returnTo = "/account/security/passkeys";
  const url = `${reauthenticatePage}?return_to=${encodeURIComponent(returnTo)}`;
  const none = await app.registerAccount();
  const plain = await app.inject({ method: "GET", url, headers: { cookie: none.cookie } });
  assert.equal(plain.statusCode, 200);
  assert.doesNotMatch(plain.body, /data-passkey-reauthenticate/);

  const { owner } = await ownerWithPasskey(app);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const form = await openForm(app, url, owner.cookie);
  assert.match(form.body, /<div class="passkey" data-passkey-block hidden>/);
  assert.match(form.body, /data-passkey-reauthenticate data-return-to="\/account\/security\/passkeys"/);
  assert.match(form.body, /パスワードの代わりにパスキーを使う/);
  assert.match(form.body, /<p class="note" data-passkey-nojs>パスキーでの本人確認には JavaScript が必要です/);
  assert.match(form.body, /<script src="\/assets\/passkeys.js" defer><\/script>/);
  // Without JavaScript, the password still leads back to the page that asked.
  const response = await postForm(app, reauthenticatePage, form, {
    _csrf: form.csrf,
    return_to: returnTo,
    password: owner.password,
  });
  assert.equal(location(response), returnTo);
});

test("the step-up page offers a passkey that verifies the person instead of a code", async (t) => {
  const app = await buildTestApp(t);
  const { owner } = await twoStepOwnerWithPasskeys(app, [new SoftwareAuthenticator()]);
  const page = await app.inject({
    method: "GET",
    url: "/account/security/step-up?return_to=%2Faccount%2Fsecurity%2Fpasskeys",
    headers: { cookie: owner.cookie },
  });
  assert.equal(page.statusCode, 200);
  assert.match(
    page.body,
    /data-passkey-reauthenticate data-return-to="\/account\/security\/passkeys" data-step-up="1"/,
  );
  assert.match(
    page.body,
    /data-passkey-nojs>パスキーでの本人確認には JavaScript が必要です。JavaScript なしでも、セキュリティコードで続けられます/,
  );
});
