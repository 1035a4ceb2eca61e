import assert from "node:assert/strict";
import { test } from "node:test";
import { cleanPasskeyName, signCountOf, toPublicPasskey, transportsOf } from "./passkeys.ts";

test("a passkey name is trimmed, NFC, free of control characters and at most 64 characters", () => {
  assert.equal(cleanPasskeyName("  iPhone  "), "iPhone");
  assert.equal(cleanPasskeyName("Mac\u0000\nBook"), "Mac  Book");
  assert.equal(cleanPasskeyName("ガ"), "ガ".normalize("NFC"));
  assert.equal(cleanPasskeyName("x".repeat(100)).length, 64);
  assert.equal(cleanPasskeyName(" \t "), "");
});

test("a counter read back from PostgreSQL as a string is a number", () => {
  assert.equal(signCountOf({ sign_count: "4294967295" }), 4_294_967_295);
  assert.equal(signCountOf({ sign_count: 7 }), 7);
});

test("stored transports are read back as strings only", () => {
  assert.deepEqual(transportsOf({ transports: '["internal","hybrid",3]' }), ["internal", "hybrid"]);
});

test("the public view says synced for a backup-eligible passkey and hides the key material", () => {
  const view = toPublicPasskey({
    id: "pky_1",
    account_id: "acc_1",
    credential_id: "cred",
    public_key: "key",
    sign_count: 0,
    transports: "[]",
    aaguid: "00000000-0000-0000-0000-000000000000",
    backup_eligible: 1,
    backed_up: 1,
    user_verified: 0,
    name: "Pixel",
    created_at: "2031-04-01T09:00:00.000Z",
    last_used_at: null,
  });
  assert.deepEqual(view, {
    id: "pky_1",
    name: "Pixel",
    createdAt: "2031-04-01T09:00:00.000Z",
    lastUsedAt: null,
    synced: true,
    userVerified: false,
  });
});
