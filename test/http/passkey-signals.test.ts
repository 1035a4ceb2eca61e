import assert from "node:assert/strict";
import { after, test } from "node:test";
import { assertApiError, buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { addPasskey, signInWithPasskey } from "../support/passkeys.ts";
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
