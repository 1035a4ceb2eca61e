import assert from "node:assert/strict";
import { after, test } from "node:test";
import {
  assertApiError,
  buildTestApp,
  sessionCookieHeader,
  setSessionCookieHeader,
  type TestApp,
} from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import {
  addPasskey,
  assertCloneSignalHandled,
  authenticationOptions,
  signInWithPasskey,
  verifyAssertion,
} from "../support/passkeys.ts";
import { SoftwareAuthenticator } from "../support/software-authenticator.ts";
import { accountWithApp, call, challengeFor, oathtoolCode, verifyChallenge } from "../support/two-step.ts";

after(stopSharedPostgres);

// Signing in with a passkey: as the only step (user verification = both factors), and as the
// second factor after a password; and the attacks the checks stop.

type SignedIn = { status: "signed_in"; account: { id: string }; session: { id: string } };

async function sessionRow(app: TestApp, id: string) {
  return app.db.selectFrom("session").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
}

async function ownerWithPasskey(app: TestApp, authenticator = new SoftwareAuthenticator()) {
  const owner = await app.registerAccount();
  const added = await addPasskey(app, owner.cookie, authenticator);
  assert.equal(added.statusCode, 201, added.body);
  return { owner, authenticator, passkeyId: added.json<{ passkey: { id: string } }>().passkey.id };
}

async function sessionCount(app: TestApp, accountId: string): Promise<number> {
  const rows = await app.db.selectFrom("session").select("id").where("account_id", "=", accountId).execute();
  return rows.length;
}

test("a passkey with user verification signs in alone: no password, no code, assurance level 2", async (t) => {
  const app = await buildTestApp(t);
  const { owner, authenticator, passkeyId } = await ownerWithPasskey(app);
  app.clock.advance(60);
  const options = await authenticationOptions(app);
  // "Which passkey?": the browser offers every passkey it holds for the RP ID.
  assert.deepEqual(options.options.allowCredentials, []);
  assert.equal(options.options.rpId, "localhost");
  const response = await verifyAssertion(app, options.challengeId, authenticator.get(options.options));
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json<SignedIn>();
  assert.equal(body.status, "signed_in");
  assert.equal(body.account.id, owner.accountId);
  const session = await sessionRow(app, body.session.id);
  assert.equal(session.aal, 2);
  assert.deepEqual(JSON.parse(session.factors), ["passkey_verified"]);
  const me = await call(app, "GET", "/api/v1/session", sessionCookieHeader(response, app.config));
  assert.equal(me.statusCode, 200);
  const passkey = await app.db
    .selectFrom("passkey")
    .selectAll()
    .where("id", "=", passkeyId)
    .executeTakeFirstOrThrow();
  assert.equal(Number(passkey.sign_count), 1);
  assert.equal(passkey.last_used_at, app.clock.now().toISOString());
});

test("with two-step on, a verified passkey still signs in without a code", async (t) => {
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  // Adding the passkey needs a step-up code (two-step is on).
  const stepUp = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  assert.equal(stepUp.statusCode, 200, stepUp.body);
  const authenticator = new SoftwareAuthenticator();
  assert.equal((await addPasskey(app, owner.cookie, authenticator)).statusCode, 201);
  const response = await signInWithPasskey(app, authenticator);
  assert.equal(response.json<SignedIn>().status, "signed_in", response.body);
});

test("a passkey without user verification counts as one factor: assurance level 1", async (t) => {
  const app = await buildTestApp(t);
  const { authenticator } = await ownerWithPasskey(app, new SoftwareAuthenticator({ userVerified: false }));
  const response = await signInWithPasskey(app, authenticator);
  assert.equal(response.statusCode, 200, response.body);
  const session = await sessionRow(app, response.json<SignedIn>().session.id);
  assert.equal(session.aal, 1);
  assert.deepEqual(JSON.parse(session.factors), ["passkey"]);
});

test("a passkey without user verification never skips two-step: the account's code is still asked", async (t) => {
  // One factor must not open an account that asks for two.
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  const authenticator = new SoftwareAuthenticator({ userVerified: false });
  assert.equal((await addPasskey(app, owner.cookie, authenticator)).statusCode, 201);
  app.clock.advance(30);
  const before = await sessionCount(app, owner.accountId);
  const response = await signInWithPasskey(app, authenticator);
  const body = response.json<{ status: string; challenge: { id: string; method: string } }>();
  assert.equal(body.status, "two_step_required", response.body);
  assert.equal(body.challenge.method, "totp");
  assert.equal(setSessionCookieHeader(response, app.config), undefined, "no session cookie");
  assert.equal(await sessionCount(app, owner.accountId), before);
  // The same passkey cannot be the second factor of its own sign-in.
  const again = await call(app, "POST", "/api/v1/passkeys/authentication/options", undefined, {
    signInChallengeId: body.challenge.id,
  });
  assertApiError(again, 404, "passkey_not_found");
  const verified = await verifyChallenge(app, body.challenge.id, {
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const session = await sessionRow(app, verified.json<SignedIn>().session.id);
  assert.deepEqual(JSON.parse(session.factors), ["passkey", "totp"]);
  assert.equal(session.aal, 2);
});

test("a passkey is offered as the second factor after the password", async (t) => {
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  const authenticator = new SoftwareAuthenticator({ userVerified: false });
  assert.equal((await addPasskey(app, owner.cookie, authenticator)).statusCode, 201);
  const challengeId = await challengeFor(app, owner.email, owner.password);
  const options = await authenticationOptions(app, { signInChallengeId: challengeId });
  assert.deepEqual(
    (options.options.allowCredentials as { id: string }[]).map((c) => c.id),
    [authenticator.id],
  );
  const response = await verifyAssertion(app, options.challengeId, authenticator.get(options.options), {
    trustDevice: true,
  });
  assert.equal(response.statusCode, 200, response.body);
  const session = await sessionRow(app, response.json<SignedIn>().session.id);
  assert.deepEqual(JSON.parse(session.factors), ["password", "passkey"]);
  assert.equal(session.aal, 2);
  assert.match(String(response.headers["set-cookie"]), /mamori_trusted=/);
  const flow = await app.db
    .selectFrom("sign_in_flow")
    .select("state")
    .where("id", "=", challengeId)
    .executeTakeFirstOrThrow();
  assert.equal(flow.state, "completed");
});

test("another account's passkey cannot be the second factor", async (t) => {
  // Mallory knows Alice's password and holds her own passkey: that proves nothing about Alice.
  const app = await buildTestApp(t);
  const alice = await accountWithApp(app);
  await call(app, "POST", "/api/v1/session/reauthenticate", alice.cookie, {
    method: "totp",
    code: oathtoolCode(alice.secret, app.clock.now()),
  });
  assert.equal((await addPasskey(app, alice.cookie, new SoftwareAuthenticator())).statusCode, 201);
  const { authenticator: mallorys } = await ownerWithPasskey(app);
  const challengeId = await challengeFor(app, alice.email, alice.password);
  const options = await authenticationOptions(app, { signInChallengeId: challengeId });
  const response = await verifyAssertion(app, options.challengeId, mallorys.get(options.options));
  assertApiError(response, 404, "passkey_not_found");
  const flow = await app.db
    .selectFrom("sign_in_flow")
    .select("state")
    .where("id", "=", challengeId)
    .executeTakeFirstOrThrow();
  assert.equal(flow.state, "second_factor_required");
});

test("an assertion made for a wrong origin is refused and no session is made", async (t) => {
  // A phishing page relaying the ceremony: the browser writes the phishing origin into clientDataJSON.
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  const before = await sessionCount(app, owner.accountId);
  const response = await signInWithPasskey(app, authenticator, { origin: "https://mamori-login.example" });
  assertApiError(response, 400, "passkey_invalid");
  assert.equal(await sessionCount(app, owner.accountId), before);
});

test("an assertion for a wrong RP ID is refused", async (t) => {
  // The authenticator data's RP ID hash names another site: the key was used there, not here.
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  const before = await sessionCount(app, owner.accountId);
  const response = await signInWithPasskey(app, authenticator, { rpId: "evil.example" });
  assertApiError(response, 400, "passkey_invalid");
  assert.equal(await sessionCount(app, owner.accountId), before);
});

test("a replayed assertion is refused: its challenge was used up, and a new challenge does not match it", async (t) => {
  // An attacker who captured one signed answer (a proxy log, a leaked request) sends it again.
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  const options = await authenticationOptions(app);
  const assertion = authenticator.get(options.options);
  const first = await verifyAssertion(app, options.challengeId, assertion);
  assert.equal(first.statusCode, 200, first.body);
  const count = await sessionCount(app, owner.accountId);
  assertApiError(await verifyAssertion(app, options.challengeId, assertion), 404, "challenge_not_found");
  const fresh = await authenticationOptions(app);
  assertApiError(await verifyAssertion(app, fresh.challengeId, assertion), 400, "passkey_invalid");
  assert.equal(await sessionCount(app, owner.accountId), count);
});

test("a counter going backwards refuses the sign-in and mails the owner (a cloned authenticator)", async (t) => {
  // A copy of the key signs with its own counter: once the original has moved on, the copy is behind.
  const app = await buildTestApp(t);
  const { owner, authenticator, passkeyId } = await ownerWithPasskey(app);
  for (let i = 0; i < 3; i++) {
    assert.equal((await signInWithPasskey(app, authenticator)).statusCode, 200);
  }
  const count = await sessionCount(app, owner.accountId);
  authenticator.counter = 1;
  app.clock.advance(60);
  const response = await signInWithPasskey(app, authenticator);
  assertApiError(response, 403, "passkey_clone_suspected");
  assert.equal(await sessionCount(app, owner.accountId), count);
  await assertCloneSignalHandled(app, owner, passkeyId, 3);
});

test("a synced passkey that always reports counter 0 keeps working", async (t) => {
  const app = await buildTestApp(t);
  const { authenticator } = await ownerWithPasskey(
    app,
    new SoftwareAuthenticator({ counting: false, backupEligible: true }),
  );
  for (let i = 0; i < 2; i++) assert.equal((await signInWithPasskey(app, authenticator)).statusCode, 200);
  const list = await app.db
    .selectFrom("passkey")
    .select(["backup_eligible", "backed_up"])
    .executeTakeFirstOrThrow();
  assert.deepEqual({ ...list }, { backup_eligible: 1, backed_up: 1 });
});

test("a removed passkey no longer signs in, and is answered passkey_unknown_credential (the page signals it unknown)", async (t) => {
  const app = await buildTestApp(t);
  const { owner, authenticator, passkeyId } = await ownerWithPasskey(app);
  assert.equal((await call(app, "DELETE", `/api/v1/passkeys/${passkeyId}`, owner.cookie)).statusCode, 204);
  assertApiError(await signInWithPasskey(app, authenticator), 404, "passkey_unknown_credential");
});

test("a suspended account is named only after a valid passkey, and gets no session", async (t) => {
  const app = await buildTestApp(t);
  const { owner, authenticator } = await ownerWithPasskey(app);
  await app.db
    .updateTable("account")
    .set({ status: "suspended" })
    .where("id", "=", owner.accountId)
    .execute();
  assertApiError(await signInWithPasskey(app, authenticator), 403, "account_suspended");
});

test("the passkey API is in the OpenAPI document", async (t) => {
  const app = await buildTestApp(t);
  const doc = (await app.inject({ method: "GET", url: "/api/openapi.json" })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  for (const path of [
    "/api/v1/passkeys",
    "/api/v1/passkeys/{id}",
    "/api/v1/passkeys/registration/options",
    "/api/v1/passkeys/registration/verify",
    "/api/v1/passkeys/authentication/options",
    "/api/v1/passkeys/authentication/verify",
  ]) {
    assert.ok(doc.paths[path], `${path} is missing`);
  }
  assert.ok(doc.paths["/api/v1/passkeys/{id}"]?.patch);
  assert.ok(doc.paths["/api/v1/passkeys/{id}"]?.delete);
});

test("passkey sign-in options are limited per address: 429 with Retry-After", async (t) => {
  // Each request stores a challenge: an address asking without end would fill the table.
  const app = await buildTestApp(t);
  for (let i = 0; i < 120; i++) await authenticationOptions(app);
  const refused = await call(app, "POST", "/api/v1/passkeys/authentication/options", undefined, {});
  assertApiError(refused, 429, "too_many_attempts");
  assert.ok(Number(refused.headers["retry-after"]) > 0);
});

test("expired challenges are swept when a new one is made", async (t) => {
  const app = await buildTestApp(t);
  await authenticationOptions(app);
  await authenticationOptions(app);
  app.clock.advance(301);
  await authenticationOptions(app);
  const rows = await app.db.selectFrom("passkey_challenge").select("id").execute();
  assert.equal(rows.length, 1);
});

test("an API client signing in with a passkey can ask for a bearer token instead of a cookie", async (t) => {
  const app = await buildTestApp(t);
  const { authenticator } = await ownerWithPasskey(app);
  const response = await signInWithPasskey(app, authenticator, { body: { sessionType: "token" } });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(setSessionCookieHeader(response, app.config), undefined, "no session cookie");
  const token = response.json<{ session: { token: string } }>().session.token;
  const me = await app.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(me.statusCode, 200);
});

test("failed passkey sign-ins count toward the per-address sign-in limit", async (t) => {
  // Guessing with made-up assertions from one place is slowed like guessing passwords.
  const app = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IP: "3" } });
  const { authenticator } = await ownerWithPasskey(app);
  for (let i = 0; i < 3; i++) {
    const bad = await signInWithPasskey(app, authenticator, { origin: "https://mamori-login.example" });
    assertApiError(bad, 400, "passkey_invalid");
  }
  const refused = await signInWithPasskey(app, authenticator);
  assertApiError(refused, 429, "too_many_attempts");
  assert.ok(Number(refused.headers["retry-after"]) > 0);
});
