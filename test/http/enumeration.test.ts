import assert from "node:assert/strict";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, strongPassword } from "../support/app.ts";

// Attack: account enumeration. Someone with a list of addresses asks sign-in, registration and
// "forgot password" about each, and keeps the ones whose answer differs. Every answer below must
// be the same for an address with an account and one without: status, body shape, headers.

/** The JSON body's shape: keys and value types, with ids, codes and times blanked out. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}

/** Header names (and the values that are not per-request), for comparison. */
function headersOf(response: LightMyRequestResponse): Record<string, string> {
  const varying = new Set(["date", "content-length", "set-cookie"]);
  return Object.fromEntries(
    Object.entries(response.headers)
      .filter(([name]) => !varying.has(name))
      .map(([name, value]) => [name, String(value)]),
  );
}

function assertAlike(known: LightMyRequestResponse, unknown: LightMyRequestResponse): void {
  assert.equal(known.statusCode, unknown.statusCode);
  assert.deepEqual(shapeOf(known.json()), shapeOf(unknown.json()));
  assert.deepEqual(headersOf(known), headersOf(unknown));
  assert.equal(Boolean(known.headers["set-cookie"]), Boolean(unknown.headers["set-cookie"]));
}

test("sign-in gives the same answer for an unknown email and a wrong password", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const known = await s.signIn({ identifier: owner.email, password: "Wrong-Password-123" });
  const unknown = await s.signIn({ identifier: "stranger@example.jp", password: "Wrong-Password-123" });
  assertAlike(known, unknown);
  assert.equal(known.body, unknown.body, "byte for byte");
});

test("registration gives the same answer for a taken email and a free one", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const register = (email: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/registrations",
      payload: { name: "佐藤 次郎", email, password: strongPassword },
    });
  const taken = await register(owner.email);
  const free = await register("newcomer@example.jp");
  assertAlike(taken, free);
  assert.equal(taken.json<{ registration: { email: string } }>().registration.email, owner.email);
});

test("forgot password gives the same answer for an existing and an unknown email", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const reset = (identifier: string) =>
    s.inject({ method: "POST", url: "/api/v1/password-resets", payload: { identifier } });
  const known = await reset(owner.email);
  const unknown = await reset("stranger@example.jp");
  assertAlike(known, unknown);
  // And the next step too: a wrong code is wrong the same way.
  const verify = (id: string) =>
    s.inject({ method: "POST", url: `/api/v1/password-resets/${id}/verify`, payload: { code: "000000" } });
  const knownId = known.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const unknownId = unknown.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const knownWrong = await verify(knownId);
  const unknownWrong = await verify(unknownId);
  // The real code could be 000000 one time in a million: then the flows differ, as they must.
  if (knownWrong.statusCode !== 200) assertAlike(knownWrong, unknownWrong);
});

test("forgot email gives the same answer for a registered and an unknown mobile number", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  await s.db
    .updateTable("account")
    .set({ phone: "+819011112222", phone_verified_at: s.clock.now().toISOString() })
    .where("id", "=", owner.accountId)
    .execute();
  const ask = (phone: string) =>
    s.inject({ method: "POST", url: "/api/v1/email-reminders", payload: { phone } });
  assertAlike(await ask("090-1111-2222"), await ask("090-3333-4444"));
});
