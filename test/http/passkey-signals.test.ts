import assert from "node:assert/strict";
import { after, test } from "node:test";
import { assertApiError, buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { addPasskey, type PasskeyOptions, signInWithPasskey } from "../support/passkeys.ts";
import { SoftwareAuthenticator } from "../support/software-authenticator.ts";
import { call } from "../support/two-step.ts";

// What the passkeys page tells the browser's passkey provider (WebAuthn Signal API): the account's
// accepted passkeys, its user handle and current email and name; and the sign-in's answer that
// lets the page signal a removed passkey as unknown.

after(stopSharedPostgres);

type Signals = {
  rpId: string;
  userId: string;
  name: string;
  displayName: string;
  acceptedCredentialIds: string[];
};

test("the passkey signals list exactly the account's own accepted passkeys, its user handle and current name", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount({ email: "signals@example.jp", name: "山田 花子" });
  const stranger = await app.registerAccount({ email: "other@example.jp" });
  const kept = new SoftwareAuthenticator();
  const removed = new SoftwareAuthenticator();
  assert.equal((await addPasskey(app, owner.cookie, kept)).statusCode, 201);
  const second = await addPasskey(app, owner.cookie, removed);
  assert.equal(second.statusCode, 201);
  assert.equal((await addPasskey(app, stranger.cookie, new SoftwareAuthenticator())).statusCode, 201);
  const removedId = second.json<{ passkey: { id: string } }>().passkey.id;
  assert.equal((await call(app, "DELETE", `/api/v1/passkeys/${removedId}`, owner.cookie)).statusCode, 204);

  const response = await call(app, "GET", "/api/v1/passkeys/signals", owner.cookie);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["cache-control"], "no-store");
  const signals = response.json<Signals>();
  const rows = await app.db
    .selectFrom("passkey")
    .select("credential_id")
    .where("account_id", "=", owner.accountId)
    .execute();
  // The attack it stops: a removed passkey keeps being offered by the provider (or another
  // account's ids leak to this one): only the owner's live passkeys are listed.
  assert.deepEqual(
    signals.acceptedCredentialIds,
    rows.map((row) => row.credential_id),
  );
  assert.equal(signals.acceptedCredentialIds.length, 1);
  assert.equal(signals.rpId, app.config.passkeys.rpId);
  assert.equal(Buffer.from(signals.userId, "base64url").toString("utf8"), owner.accountId);
  assert.equal(signals.name, "signals@example.jp");
  assert.equal(signals.displayName, "山田 花子");
});

test("the passkey signals need a session", async (t) => {
  const app = await buildTestApp(t);
  assertApiError(await call(app, "GET", "/api/v1/passkeys/signals", undefined), 401, "unauthenticated");
});

test("a passkey of another account is not reported unknown (it must never be signalled away), a removed one is", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const authenticator = new SoftwareAuthenticator();
  const added = await addPasskey(app, owner.cookie, authenticator);
  assert.equal(added.statusCode, 201);
  assert.equal((await signInWithPasskey(app, authenticator)).statusCode, 200);
  const id = added.json<{ passkey: { id: string } }>().passkey.id;
  assert.equal((await call(app, "DELETE", `/api/v1/passkeys/${id}`, owner.cookie)).statusCode, 204);
  assertApiError(await signInWithPasskey(app, authenticator), 404, "passkey_unknown_credential");
});

async function registerWithoutPresence(
  app: Awaited<ReturnType<typeof buildTestApp>>,
  cookie: string,
  optionsPath: string,
) {
  const started = await call(app, "POST", optionsPath, cookie);
  assert.equal(started.statusCode, 200, started.body);
  const { challengeId, options } = started.json<{
    challengeId: string;
    options: PasskeyOptions["options"];
  }>();
  const authenticator = new SoftwareAuthenticator({ userPresent: false });
  return call(app, "POST", "/api/v1/passkeys/registration/verify", cookie, {
    challengeId,
    credential: authenticator.create(options),
  });
}

test("a passkey made without user presence is refused by an ordinary registration", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  // The attack: a script on the page (or a stolen session's) makes a passkey silently, with no
  // touch, through the ordinary "Add a passkey" ceremony.
  const response = await registerWithoutPresence(app, owner.cookie, "/api/v1/passkeys/registration/options");
  assertApiError(response, 400, "passkey_invalid");
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 0);
});

test("a conditional create (mediation=conditional on the options) may lack user presence, and is added", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const response = await registerWithoutPresence(
    app,
    owner.cookie,
    "/api/v1/passkeys/registration/options?mediation=conditional",
  );
  assert.equal(response.statusCode, 201, response.body);
  // Its guards are the ordinary ones: a session signed in long ago gets no options.
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const late = await call(
    app,
    "POST",
    "/api/v1/passkeys/registration/options?mediation=conditional",
    owner.cookie,
  );
  assert.equal(late.statusCode, 403, late.body);
  const bad = await call(app, "POST", "/api/v1/passkeys/registration/options?mediation=silent", owner.cookie);
  assert.equal(bad.statusCode, 400, bad.body);
});
