import assert from "node:assert/strict";
import { after, test } from "node:test";
import { assertApiError, buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { addPasskey, registrationOptions, renamePasskey } from "../support/passkeys.ts";
import { SoftwareAuthenticator } from "../support/software-authenticator.ts";
import { accountWithApp, call, oathtoolCode } from "../support/two-step.ts";

after(stopSharedPostgres);

// Login & security -> Passkeys through the JSON API: add, list, rename, remove, and the guards.

type PasskeyBody = { passkey: { id: string; name: string; createdAt: string; lastUsedAt: string | null } };

test("a passkey is added after a recent sign-in, listed, and its owner is mailed", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const authenticator = new SoftwareAuthenticator();
  // Mail queued at the same fake instant comes in no set order: the passkey's mail comes later.
  app.clock.advance(1);
  const added = await addPasskey(app, owner.cookie, authenticator, { name: "仕事用のMac" });
  assert.equal(added.statusCode, 201, added.body);
  const passkey = added.json<PasskeyBody>().passkey;
  assert.equal(passkey.name, "仕事用のMac");
  assert.equal(passkey.lastUsedAt, null);

  const row = await app.db
    .selectFrom("passkey")
    .selectAll()
    .where("id", "=", passkey.id)
    .executeTakeFirstOrThrow();
  assert.equal(row.account_id, owner.accountId);
  assert.equal(row.credential_id, authenticator.id);
  assert.equal(Number(row.sign_count), 0);
  assert.equal(row.user_verified, 1);
  assert.equal(row.backup_eligible, 0);

  const list = await call(app, "GET", "/api/v1/passkeys", owner.cookie);
  assert.equal(list.statusCode, 200);
  assert.deepEqual(
    list.json<{ passkeys: { id: string }[] }>().passkeys.map((p) => p.id),
    [passkey.id],
  );
  const mails = await app.messagesTo(owner.email);
  assert.equal(mails[0]?.template, "passkey_changed");
  assert.match(mails[0]?.text_body ?? "", /仕事用のMac/);
  const audit = await app.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "passkey.added")
    .execute();
  assert.equal(audit.length, 1);
});

test("a passkey is named by the browser that made it when no name is given", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await registrationOptions(app, owner.cookie);
  const credential = new SoftwareAuthenticator().create(started.options);
  const response = await app.inject({
    method: "POST",
    url: "/api/v1/passkeys/registration/verify",
    headers: {
      origin: app.config.publicUrl.origin,
      cookie: owner.cookie,
      "user-agent":
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
    },
    payload: { challengeId: started.challengeId, credential },
  });
  assert.equal(response.statusCode, 201, response.body);
  assert.equal(response.json<PasskeyBody>().passkey.name, "Chrome (Mac)");
});

test("registration options ask for a discoverable passkey, attestation none, and exclude the account's passkeys", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const authenticator = new SoftwareAuthenticator();
  assert.equal((await addPasskey(app, owner.cookie, authenticator)).statusCode, 201);
  const response = await call(app, "POST", "/api/v1/passkeys/registration/options", owner.cookie);
  const options = response.json<{
    options: {
      rp: { id: string };
      attestation: string;
      authenticatorSelection: { residentKey: string };
      excludeCredentials: { id: string }[];
    };
  }>().options;
  assert.equal(options.rp.id, "localhost");
  assert.equal(options.attestation, "none");
  assert.equal(options.authenticatorSelection.residentKey, "required");
  assert.deepEqual(
    options.excludeCredentials.map((c) => c.id),
    [authenticator.id],
  );
});

test("adding a passkey needs a recent sign-in: an old session gets reauthentication_required", async (t) => {
  // A browser left signed in at a shop counter must not be enough to add someone else's passkey.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const response = await call(app, "POST", "/api/v1/passkeys/registration/options", owner.cookie);
  assertApiError(response, 403, "reauthentication_required");
});

test("adding a passkey while two-step is on needs a step-up code first", async (t) => {
  // A stolen password plus a session is not enough: a code from the current method is asked.
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  // Later: the password is proven again, but no second factor within the window.
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const password = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(password.statusCode, 200, password.body);
  const refused = await call(app, "POST", "/api/v1/passkeys/registration/options", owner.cookie);
  assertApiError(refused, 403, "step_up_required");
  const stepUp = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  assert.equal(stepUp.statusCode, 200, stepUp.body);
  const added = await addPasskey(app, owner.cookie, new SoftwareAuthenticator());
  assert.equal(added.statusCode, 201, added.body);
});

test("a registration from a wrong origin is refused and nothing is stored", async (t) => {
  // A look-alike site relaying the ceremony reports its own origin in clientDataJSON.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const response = await addPasskey(app, owner.cookie, new SoftwareAuthenticator(), {
    origin: "https://mamori-login.example",
  });
  assertApiError(response, 400, "passkey_invalid");
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 0);
});

test("a registration for a wrong RP ID is refused", async (t) => {
  // A credential scoped to another site's RP ID would never be offered here, and must not be stored.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const response = await addPasskey(app, owner.cookie, new SoftwareAuthenticator(), { rpId: "evil.example" });
  assertApiError(response, 400, "passkey_invalid");
});

test("a registration challenge is single use: the same answer twice adds nothing more", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await registrationOptions(app, owner.cookie);
  const credential = new SoftwareAuthenticator().create(started.options);
  const body = { challengeId: started.challengeId, credential };
  const first = await call(app, "POST", "/api/v1/passkeys/registration/verify", owner.cookie, body);
  assert.equal(first.statusCode, 201, first.body);
  const second = await call(app, "POST", "/api/v1/passkeys/registration/verify", owner.cookie, body);
  assertApiError(second, 404, "challenge_not_found");
});

test("another account's registration challenge cannot be used", async (t) => {
  const app = await buildTestApp(t);
  const alice = await app.registerAccount();
  const mallory = await app.registerAccount();
  const started = await registrationOptions(app, alice.cookie);
  const credential = new SoftwareAuthenticator().create(started.options);
  const response = await call(app, "POST", "/api/v1/passkeys/registration/verify", mallory.cookie, {
    challengeId: started.challengeId,
    credential,
  });
  assertApiError(response, 404, "challenge_not_found");
});

test("an expired registration challenge is refused with challenge_expired", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await registrationOptions(app, owner.cookie);
  app.clock.advance(301);
  const credential = new SoftwareAuthenticator().create(started.options);
  const response = await call(app, "POST", "/api/v1/passkeys/registration/verify", owner.cookie, {
    challengeId: started.challengeId,
    credential,
  });
  assertApiError(response, 410, "challenge_expired");
});

test("a passkey is renamed, and a blank name is refused", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const id = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<PasskeyBody>().passkey
    .id;
  const renamed = await renamePasskey(app, owner.cookie, id, "  iPhone  ");
  assert.equal(renamed.statusCode, 200, renamed.body);
  assert.equal(renamed.json<PasskeyBody>().passkey.name, "iPhone");
  const blank = await renamePasskey(app, owner.cookie, id, "   ");
  assertApiError(blank, 400, "invalid_request");
  const tooLong = await renamePasskey(app, owner.cookie, id, "x".repeat(65));
  assertApiError(tooLong, 400, "invalid_request");
});

test("a passkey of another account can be neither renamed nor removed", async (t) => {
  const app = await buildTestApp(t);
  const alice = await app.registerAccount();
  const mallory = await app.registerAccount();
  const id = (await addPasskey(app, alice.cookie, new SoftwareAuthenticator())).json<PasskeyBody>().passkey
    .id;
  assertApiError(await renamePasskey(app, mallory.cookie, id, "mine"), 404, "passkey_not_found");
  assertApiError(
    await call(app, "DELETE", `/api/v1/passkeys/${id}`, mallory.cookie),
    404,
    "passkey_not_found",
  );
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 1);
});

test("a passkey is removed and its owner is mailed", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const id = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<PasskeyBody>().passkey
    .id;
  app.clock.advance(1);
  const removed = await call(app, "DELETE", `/api/v1/passkeys/${id}`, owner.cookie);
  assert.equal(removed.statusCode, 204, removed.body);
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 0);
  const mails = await app.messagesTo(owner.email);
  assert.equal(mails[0]?.template, "passkey_changed");
  assert.match(mails[0]?.subject ?? "", /パスキーを削除しました/);
});

test("removing the last passkey of an account without a password is refused with a clear reason", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount({ locale: "en" });
  const first = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<PasskeyBody>().passkey
    .id;
  const second = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<PasskeyBody>()
    .passkey.id;
  await app.db
    .updateTable("account")
    .set({ password_hash: null })
    .where("id", "=", owner.accountId)
    .execute();
  // With two passkeys, one may go.
  assert.equal((await call(app, "DELETE", `/api/v1/passkeys/${first}`, owner.cookie)).statusCode, 204);
  const refused = await call(app, "DELETE", `/api/v1/passkeys/${second}`, owner.cookie);
  const error = assertApiError(refused, 409, "passkey_last_sign_in_method");
  assert.match(error.message, /no way to sign in/);
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 1);
});

test("passkey settings need a session, and a cross-site request is refused", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  assertApiError(await call(app, "GET", "/api/v1/passkeys", undefined), 401, "unauthenticated");
  const crossSite = await app.inject({
    method: "POST",
    url: "/api/v1/passkeys/registration/options",
    headers: { origin: "https://evil.example", cookie: owner.cookie },
  });
  assertApiError(crossSite, 403, "csrf_failed");
});

test("a malformed credential is a 400, never a 500", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await registrationOptions(app, owner.cookie);
  const bodies = [
    { challengeId: started.challengeId, credential: { id: "x" } },
    { challengeId: started.challengeId, credential: "not an object" },
    {
      challengeId: started.challengeId,
      credential: {
        id: "AAAA",
        rawId: "AAAA",
        type: "public-key",
        response: { clientDataJSON: "AAAA", attestationObject: "AAAA" },
        clientExtensionResults: {},
      },
    },
  ];
  for (const body of bodies) {
    const response = await call(app, "POST", "/api/v1/passkeys/registration/verify", owner.cookie, body);
    assert.equal(response.statusCode, 400, response.body);
  }
});
