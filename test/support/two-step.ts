import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { LightMyRequestResponse } from "fastify";
import { sameOrigin, sessionCookieHeader, type TestApp } from "./app.ts";

/**
 * Two-step helpers for HTTP tests. App codes come from `oathtool` (Debian's oath-toolkit), an
 * implementation independent of Mamori's, at the test's fake time — as a phone's app would make them.
 */
export function oathtoolCode(secretGroups: string, at: Date, offsetSteps = 0): string {
  const time = new Date(at.getTime() + offsetSteps * 30_000);
  const when = `${time.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return execFileSync("oathtool", ["--totp", "--base32", "--now", when, secretGroups.replace(/\s/g, "")], {
    encoding: "utf8",
  }).trim();
}

export type Json = Record<string, unknown>;

export async function call(
  app: TestApp,
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  cookie: string | undefined,
  payload?: Json,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { ...sameOrigin(app.config), ...(cookie ? { cookie } : {}) },
    ...(payload !== undefined ? { payload } : {}),
  });
}

export function errorCodeOf(response: LightMyRequestResponse): string | undefined {
  return (response.json() as { error?: { code?: string } }).error?.code;
}

/** The newest code texted or read out to a phone (E.164), from the outbox. */
export async function phoneCode(app: TestApp, phone: string): Promise<string | undefined> {
  const row = await app.db
    .selectFrom("outbox_message")
    .select("text_body")
    .where("recipient", "=", phone)
    .where("channel", "in", ["sms", "voice"])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .executeTakeFirst();
  if (!row) return undefined;
  // The voice script reads the digits with separators: "1、2、3、…" or "1, 2, 3".
  return /\d{6}/.exec(row.text_body)?.[0] ?? (row.text_body.match(/\d/g) ?? []).slice(0, 6).join("");
}

export type TwoStepAccount = {
  email: string;
  password: string;
  accountId: string;
  cookie: string;
  secret: string;
  recoveryCodes: string[];
};

/** Registers an account and turns two-step on with the authenticator app as the primary. */
export async function accountWithApp(app: TestApp): Promise<TwoStepAccount> {
  const owner = await app.registerAccount();
  const started = await call(app, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "totp",
  });
  assert.equal(started.statusCode, 201, started.body);
  const enrollment = started.json<{ enrollment: { id: string; secret: string } }>().enrollment;
  const verified = await call(
    app,
    "POST",
    `/api/v1/security/two-step/methods/${enrollment.id}/verify`,
    owner.cookie,
    {
      code: oathtoolCode(enrollment.secret, app.clock.now()),
    },
  );
  assert.equal(verified.statusCode, 200, verified.body);
  const enabled = await call(app, "POST", "/api/v1/security/two-step/enable", owner.cookie);
  assert.equal(enabled.statusCode, 200, enabled.body);
  // The app's code of this step is spent: the next sign-in must use the next step's code.
  app.clock.advance(30);
  return {
    email: owner.email,
    password: owner.password,
    accountId: owner.accountId,
    cookie: owner.cookie,
    secret: enrollment.secret,
    recoveryCodes: enabled.json<{ recoveryCodes: string[] }>().recoveryCodes,
  };
}

/** Signs in with the password; returns the challenge id (asserting two-step was asked for). */
export async function challengeFor(
  app: TestApp,
  email: string,
  password: string,
  cookie?: string,
): Promise<string> {
  const response = await app.signIn({ identifier: email, password }, cookie ? { cookie } : {});
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json<{ status: string; challenge: { id: string } }>();
  assert.equal(body.status, "two_step_required");
  return body.challenge.id;
}

export async function verifyChallenge(
  app: TestApp,
  challengeId: string,
  body: Json,
): Promise<LightMyRequestResponse> {
  return call(app, "POST", `/api/v1/sign-in/challenges/${challengeId}/verify`, undefined, body);
}

/** Whether the account has two-step verification on, read from its row. */
export async function isTwoStepOn(app: TestApp, accountId: string): Promise<boolean> {
  const row = await app.db
    .selectFrom("account")
    .select("two_step_enabled_at")
    .where("id", "=", accountId)
    .executeTakeFirstOrThrow();
  return row.two_step_enabled_at !== null;
}

export { sessionCookieHeader };
