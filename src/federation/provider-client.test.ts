import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { appleClientSecret } from "./provider-client.ts";

test("Apple's client secret is an ES256 JWT from the team key, reused while fresh and made anew an hour before it expires", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const key = { teamId: "TEAM123456", keyId: "KEY1234567", privateKey };
  const start = Date.parse("2031-04-01T00:00:00Z");
  const first = await appleClientSecret(key, "jp.example.shop", start);
  const { payload } = await jwtVerify(first, publicKey, {
    algorithms: ["ES256"],
    issuer: "TEAM123456",
    subject: "jp.example.shop",
    audience: "https://appleid.apple.com",
    currentDate: new Date(start),
  });
  assert.equal(decodeProtectedHeader(first).kid, "KEY1234567");
  // Apple refuses secrets that live longer than 6 months; this one lives a day.
  assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 24 * 3600);
  assert.equal(await appleClientSecret(key, "jp.example.shop", start + 22 * 3600 * 1000), first);
  const renewed = await appleClientSecret(key, "jp.example.shop", start + 23 * 3600 * 1000 + 1000);
  assert.notEqual(renewed, first);
  assert.ok((decodeJwt(renewed).exp ?? 0) > (payload.exp ?? 0));
});
