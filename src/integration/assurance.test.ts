import assert from "node:assert/strict";
import { test } from "node:test";
import { aalOfAcr, acrOf, amrOf, factorsAfterStepUp, factorsOf } from "./assurance.ts";

// How a session was authenticated, as shops read it: acr from the level, amr (RFC 8176) from factors.

test("acr names the assurance level, and only Mamori's two values are understood", () => {
  assert.equal(acrOf(1), "urn:mamori:aal1");
  assert.equal(acrOf(2), "urn:mamori:aal2");
  assert.equal(aalOfAcr("urn:mamori:aal2"), 2);
  assert.equal(aalOfAcr("urn:mamori:aal1"), 1);
  assert.equal(aalOfAcr("urn:mace:incommon:iap:silver"), undefined);
});

test("amr lists RFC 8176 methods, with mfa only at level 2, and an emailed code is never otp", () => {
  assert.deepEqual(amrOf(["password"], 1), ["pwd"]);
  assert.deepEqual(amrOf(["password", "email_code"], 1), ["pwd", "email"]);
  assert.deepEqual(amrOf(["password", "totp"], 2), ["pwd", "otp", "mfa"]);
  assert.deepEqual(amrOf(["password", "sms_code"], 2), ["pwd", "sms", "otp", "mfa"]);
  assert.deepEqual(amrOf(["password", "voice_code"], 2), ["pwd", "tel", "otp", "mfa"]);
  assert.deepEqual(amrOf(["password", "trusted_device"], 2), ["pwd", "mfa"]);
});

test("a session's factors are read defensively from its JSON column", () => {
  assert.deepEqual(factorsOf({ factors: '["password","totp"]' }), ["password", "totp"]);
  assert.deepEqual(factorsOf({ factors: '["password","telepathy"]' }), ["password"]);
  assert.deepEqual(factorsOf({ factors: "not json" }), []);
  assert.deepEqual(factorsOf({ factors: '{"a":1}' }), []);
});

test("a step-up adds the method's factor and raises a password session to level 2", () => {
  assert.deepEqual(factorsAfterStepUp({ factors: '["password","email_code"]' }, "totp"), {
    factors: ["password", "email_code", "totp"],
    aal: 2,
  });
  assert.deepEqual(factorsAfterStepUp({ factors: '["password","sms_code"]' }, "sms_code"), {
    factors: ["password", "sms_code"],
    aal: 2,
  });
});

test("a step-up with a user-verified passkey adds passkey_verified and reaches level 2, even after a passkey without UV", () => {
  assert.deepEqual(factorsAfterStepUp({ factors: '["password"]' }, "passkey_verified"), {
    factors: ["password", "passkey_verified"],
    aal: 2,
  });
  assert.deepEqual(factorsAfterStepUp({ factors: '["passkey"]' }, "passkey_verified"), {
    factors: ["passkey", "passkey_verified"],
    aal: 2,
  });
});
