import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { openDatabase } from "../../src/db/database.ts";
import { normalizePhone } from "../../src/identity/identifiers.ts";
import { requestSignal } from "./patience.ts";
import { latestCode, type MamoriServer } from "./server.ts";

/**
 * Accounts on a running test server, made the quick way: registered through the JSON API (the
 * code read from the development outbox), and given a verified mobile number in its database,
 * since no page adds one yet.
 */

export type ServerAccount = { name: string; email: string; password: string; locale: "ja" | "en" };

async function postJson(
  server: MamoriServer,
  path: string,
  body: object,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: requestSignal(),
  });
}

/** Registers and verifies an account through the API. */
export async function registerOnServer(server: MamoriServer, account: ServerAccount): Promise<void> {
  const started = await postJson(server, "/api/v1/registrations", account);
  assert.equal(started.status, 201, await started.clone().text());
  const { registration } = (await started.json()) as { registration: { id: string; flowToken: string } };
  const code = await latestCode(server, account.email);
  const verified = await postJson(
    server,
    `/api/v1/registrations/${registration.id}/verify`,
    { code },
    { "x-mamori-flow-token": registration.flowToken },
  );
  assert.equal(verified.status, 201, await verified.clone().text());
}

/** Marks `phone` (any form the pages accept) as the account's verified mobile number. */
export async function giveVerifiedPhone(server: MamoriServer, email: string, phone: string): Promise<void> {
  const e164 = normalizePhone(phone);
  assert.ok(e164, `${phone} is not a phone number`);
  const db = openDatabase(server.databaseUrl);
  try {
    const result = await db
      .updateTable("account")
      .set({ phone: e164, phone_verified_at: new Date().toISOString() })
      .where("email", "=", email.toLowerCase())
      .executeTakeFirst();
    assert.equal(result.numUpdatedRows, 1n, `no account ${email} on the server`);
  } finally {
    await db.destroy();
  }
}

/** A Japanese mobile number nobody else in the run is likely to have: `090-NXXX-XXXX`, N from 1. */
export function randomMobileNumber(): string {
  return `090-${randomInt(1000, 10_000)}-${String(randomInt(0, 10_000)).padStart(4, "0")}`;
}
