import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/app.ts";

const japan = "133.242.0.1";
const abroad = "8.8.8.8";

test("sign-in from a country the shop does not allow is refused with country_not_allowed", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_ALLOWED_COUNTRIES: "JP" } });
  const owner = await s.registerAccount({ locale: "en" });
  const signIn = (remoteAddress: string, headers: Record<string, string> = {}) =>
    s.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress,
      headers,
      payload: { identifier: owner.email, password: owner.password },
    });
  const refused = await signIn(abroad, { "accept-language": "en" });
  assert.equal(refused.statusCode, 403);
  const error = refused.json<{ error: { code: string; message: string } }>().error;
  assert.equal(error.code, "country_not_allowed");
  // It speaks of where the connection comes from (a traveller), not where the person lives.
  assert.match(error.message, /country or region you are connecting from/);
  // The same answer whatever the password: the policy says nothing about the account.
  const wrong = await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: abroad,
    payload: { identifier: owner.email, password: "wrong" },
  });
  assert.equal(wrong.json<{ error: { code: string } }>().error.code, "country_not_allowed");
  assert.equal((await signIn(japan)).statusCode, 200);
  assert.equal((await signIn("192.168.10.4")).statusCode, 200, "the shop's own network");
});

test("behind a trusted proxy the client's address comes from X-Forwarded-For", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_ALLOWED_COUNTRIES: "JP", MAMORI_TRUST_PROXY: "true" } });
  const owner = await s.registerAccount();
  const viaProxy = (client: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress: "10.0.0.2",
      headers: { "x-forwarded-for": client },
      payload: { identifier: owner.email, password: owner.password },
    });
  assert.equal((await viaProxy(abroad)).statusCode, 403);
  assert.equal((await viaProxy(japan)).statusCode, 200);
});

test("without a list every country may sign in", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: abroad,
    payload: { identifier: owner.email, password: owner.password },
  });
  assert.equal(response.statusCode, 200);
});

test("only the listed proxies are believed about the client's address", async (t) => {
  // Attack: a client that reaches Mamori directly sends its own X-Forwarded-For from Japan.
  const s = await buildTestApp(t, {
    env: { MAMORI_ALLOWED_COUNTRIES: "JP", MAMORI_TRUST_PROXY: "10.0.0.0/8" },
  });
  const owner = await s.registerAccount();
  const from = (remoteAddress: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress,
      headers: { "x-forwarded-for": japan },
      payload: { identifier: owner.email, password: owner.password },
    });
  assert.equal((await from("10.0.0.2")).statusCode, 200, "through the shop's proxy");
  assert.equal((await from(abroad)).statusCode, 403, "straight from abroad, the header is ignored");
});
