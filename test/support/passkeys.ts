import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import type { TestApp } from "./app.ts";
import type { AssertionJson, CredentialOptions, SoftwareAuthenticator } from "./software-authenticator.ts";
import { call, type Json } from "./two-step.ts";

/** Passkey helpers for HTTP tests, driving the JSON API with a software authenticator. */
export type PasskeyOptions = { challengeId: string; options: CredentialOptions & { rpId?: string } };

export async function registrationOptions(app: TestApp, cookie: string): Promise<PasskeyOptions> {
  const response = await call(app, "POST", "/api/v1/passkeys/registration/options", cookie);
  assert.equal(response.statusCode, 200, response.body);
  return response.json<PasskeyOptions>();
}

/** Adds a passkey to the signed-in account; returns the verify response. */
export async function addPasskey(
  app: TestApp,
  cookie: string,
  authenticator: SoftwareAuthenticator,
  extra: { name?: string; rpId?: string; origin?: string } = {},
): Promise<LightMyRequestResponse> {
  const started = await registrationOptions(app, cookie);
  const credential = authenticator.create(started.options, {
    ...(extra.rpId ? { rpId: extra.rpId } : {}),
    ...(extra.origin ? { origin: extra.origin } : {}),
  });
  return call(app, "POST", "/api/v1/passkeys/registration/verify", cookie, {
    challengeId: started.challengeId,
    credential,
    ...(extra.name ? { name: extra.name } : {}),
  });
}

export async function authenticationOptions(
  app: TestApp,
  body: Json = {},
): Promise<{
  challengeId: string;
  options: { challenge: string; rpId: string; allowCredentials?: unknown[] };
}> {
  const response = await call(app, "POST", "/api/v1/passkeys/authentication/options", undefined, body);
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

export async function verifyAssertion(
  app: TestApp,
  challengeId: string,
  credential: AssertionJson,
  extra: Json = {},
): Promise<LightMyRequestResponse> {
  return call(app, "POST", "/api/v1/passkeys/authentication/verify", undefined, {
    challengeId,
    credential,
    ...extra,
  });
}

/** Signs in with the passkey (options, then the assertion); returns the verify response. */
export async function signInWithPasskey(
  app: TestApp,
  authenticator: SoftwareAuthenticator,
  extra: { signInChallengeId?: string; rpId?: string; origin?: string; body?: Json } = {},
): Promise<LightMyRequestResponse> {
  const started = await authenticationOptions(
    app,
    extra.signInChallengeId ? { signInChallengeId: extra.signInChallengeId } : {},
  );
  const assertion = authenticator.get(started.options, {
    ...(extra.rpId ? { rpId: extra.rpId } : {}),
    ...(extra.origin ? { origin: extra.origin } : {}),
  });
  return verifyAssertion(app, started.challengeId, assertion, extra.body ?? {});
}

/** PATCH /api/v1/passkeys/{id} from the owner's browser (same origin, session cookie). */
export async function renamePasskey(
  app: TestApp,
  cookie: string,
  id: string,
  name: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: "PATCH",
    url: `/api/v1/passkeys/${id}`,
    headers: { origin: app.config.publicUrl.origin, cookie },
    payload: { name },
  });
}

/**
 * What a cloned-authenticator signal must leave behind: the stored counter not moved back, the
 * owner mailed (the newest mail, in Japanese) and one `passkey.clone_signal` audit event.
 */
export async function assertCloneSignalHandled(
  app: TestApp,
  owner: { accountId: string; email: string },
  passkeyId: string,
  storedCounter: number,
): Promise<void> {
  const stored = await app.db
    .selectFrom("passkey")
    .selectAll()
    .where("id", "=", passkeyId)
    .executeTakeFirstOrThrow();
  assert.equal(Number(stored.sign_count), storedCounter, "the stored counter is not moved back");
  const mails = await app.messagesTo(owner.email);
  assert.equal(mails[0]?.template, "passkey_changed");
  assert.match(mails[0]?.subject ?? "", /複製/);
  const audit = await app.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "passkey.clone_signal")
    .execute();
  assert.equal(audit.length, 1);
}
