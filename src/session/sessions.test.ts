import assert from "node:assert/strict";
import { test } from "node:test";
import { assuranceLevel, isRecentlyAuthenticated, type SessionRow } from "./sessions.ts";

test("a password alone is assurance level 1; a password and a possession factor are level 2", () => {
  assert.equal(assuranceLevel(["password"]), 1);
  // An emailed code proves the mailbox, not a second factor (DESIGN.md: it never counts as one).
  assert.equal(assuranceLevel(["password", "email_code"]), 1);
  assert.equal(assuranceLevel(["password", "totp"]), 2);
  assert.equal(assuranceLevel(["password", "sms_code"]), 2);
  assert.equal(assuranceLevel(["totp"]), 1);
});

test("sensitive settings need a sign-in within the reauthentication window", () => {
  const session = { authenticated_at: "2026-01-01T00:00:00.000Z" } as SessionRow;
  assert.equal(isRecentlyAuthenticated(session, new Date("2026-01-01T00:10:00.000Z"), 600), true);
  assert.equal(isRecentlyAuthenticated(session, new Date("2026-01-01T00:10:00.001Z"), 600), false);
});
