import assert from "node:assert/strict";
import { test } from "node:test";
import { assuranceLevel } from "./sessions.ts";

test("a passkey with user verification alone is assurance level 2 (device + PIN or biometrics)", () => {
  assert.equal(assuranceLevel(["passkey_verified"]), 2);
});

test("a passkey without user verification alone is one factor: assurance level 1", () => {
  assert.equal(assuranceLevel(["passkey"]), 1);
});

test("a password and a passkey as the second factor are assurance level 2", () => {
  assert.equal(assuranceLevel(["password", "passkey"]), 2);
  assert.equal(assuranceLevel(["passkey", "totp"]), 2);
  assert.equal(assuranceLevel(["password"]), 1);
});
