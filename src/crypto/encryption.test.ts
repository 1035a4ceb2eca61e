import assert from "node:assert/strict";
import { test } from "node:test";
import { decryptSecret, encryptSecret, needsReencryption } from "./encryption.ts";

const oldKey = Buffer.alloc(32, 1);
const newKey = Buffer.alloc(32, 2);
const secret = Buffer.from("12345678901234567890");

test("a TOTP secret is encrypted at rest and reads back", () => {
  const stored = encryptSecret([oldKey], secret, "totp:acc_1");
  assert.doesNotMatch(stored, /12345678901234567890|MTIzNDU2Nzg5MDEyMzQ1Njc4OTA/);
  assert.deepEqual(decryptSecret([oldKey], stored, "totp:acc_1"), secret);
  assert.notEqual(encryptSecret([oldKey], secret, "totp:acc_1"), stored, "a fresh IV every time");
});

test("after a key rotation old secrets still decrypt and are marked for re-encryption", () => {
  const stored = encryptSecret([oldKey], secret, "totp:acc_1");
  const rotated = [newKey, oldKey];
  assert.deepEqual(decryptSecret(rotated, stored, "totp:acc_1"), secret);
  assert.equal(needsReencryption(rotated, stored), true);
  assert.equal(needsReencryption(rotated, encryptSecret(rotated, secret, "totp:acc_1")), false);
  assert.equal(decryptSecret([newKey], stored, "totp:acc_1"), undefined, "a removed key decrypts nothing");
});

test("a ciphertext moved to another account or altered does not decrypt", () => {
  // Attack: copying one's own encrypted TOTP secret into another account's row.
  const stored = encryptSecret([oldKey], secret, "totp:acc_1");
  assert.equal(decryptSecret([oldKey], stored, "totp:acc_2"), undefined);
  const parts = stored.split(".");
  const body = Buffer.from(parts[3] ?? "", "base64url");
  body[0] = (body[0] ?? 0) ^ 1;
  parts[3] = body.toString("base64url");
  assert.equal(decryptSecret([oldKey], parts.join("."), "totp:acc_1"), undefined);
  assert.equal(decryptSecret([oldKey], "garbage", "totp:acc_1"), undefined);
});
