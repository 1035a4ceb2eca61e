import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import type { TestApp } from "./app.ts";
import { call, challengeFor, type TwoStepAccount } from "./two-step.ts";

/** Two-step recovery helpers for HTTP tests (docs/flows/two-step-recovery.md), through the JSON API. */

export const waitSeconds = 86_400;

/** From a fresh challenge, "I can't receive my codes": the recovery's id (a code is mailed). */
export async function start(app: TestApp, owner: TwoStepAccount): Promise<string> {
  const challengeId = await challengeFor(app, owner.email, owner.password);
  const started = await call(app, "POST", `/api/v1/sign-in/challenges/${challengeId}/recovery`, undefined);
  assert.equal(started.statusCode, 202, started.body);
  return started.json<{ twoStepRecovery: { id: string } }>().twoStepRecovery.id;
}

export function prove(
  app: TestApp,
  id: string,
  body: { code: string; password: string },
): Promise<LightMyRequestResponse> {
  return call(app, "POST", `/api/v1/two-step-recoveries/${id}/verify`, undefined, body);
}

export async function recoveryCode(app: TestApp, owner: TwoStepAccount): Promise<string> {
  const code = await app.latestCode(owner.email, "two_step_recovery_code");
  assert.ok(code, "a recovery code was mailed");
  return code;
}

/** Starts a recovery and proves it: the wait has begun. Returns its id. */
export async function waitingRecovery(app: TestApp, owner: TwoStepAccount): Promise<string> {
  const id = await start(app, owner);
  const proved = await prove(app, id, { code: await recoveryCode(app, owner), password: owner.password });
  assert.equal(proved.statusCode, 200, proved.body);
  return id;
}

/** The single-use cancel token of the newest "recovery started" mail. */
export async function cancelTokenMailed(app: TestApp, owner: TwoStepAccount): Promise<string> {
  const mail = (await app.messagesTo(owner.email)).find((m) => m.template === "two_step_recovery_started");
  const token = /token=([A-Za-z0-9_.-]+)/.exec(mail?.text_body ?? "")?.[1];
  assert.ok(token, "the started mail carries a cancel link");
  return token;
}

export async function recoveryStates(app: TestApp, accountId: string): Promise<string[]> {
  const rows = await app.db
    .selectFrom("two_step_recovery")
    .select("state")
    .where("account_id", "=", accountId)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map((r) => r.state);
}

export async function templatesTo(app: TestApp, to: string): Promise<string[]> {
  return (await app.messagesTo(to)).map((m) => m.template);
}

export function countOf(list: readonly string[], item: string): number {
  return list.filter((x) => x === item).length;
}
