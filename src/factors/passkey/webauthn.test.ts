import assert from "node:assert/strict";
import { test } from "node:test";
import { isCounterGoingBackwards, userHandleOf } from "./webauthn.ts";

test("a counter that does not go up is a clone signal, once either side has counted", () => {
  assert.equal(isCounterGoingBackwards(5, 4), true);
  assert.equal(isCounterGoingBackwards(5, 5), true);
  assert.equal(isCounterGoingBackwards(5, 0), true);
  assert.equal(isCounterGoingBackwards(5, 6), false);
  assert.equal(isCounterGoingBackwards(0, 1), false);
});

test("a synced passkey that always reports 0 is never flagged", () => {
  assert.equal(isCounterGoingBackwards(0, 0), false);
});

test("the user handle is the account id in base64url, no personal data", () => {
  assert.equal(userHandleOf("acc_123"), Buffer.from("acc_123").toString("base64url"));
});
