import assert from "node:assert/strict";
import { test } from "node:test";
import { maskedPhone } from "./phone-number.ts";

test("a Japanese number is masked in its usual groups; only the last four digits show", () => {
  assert.equal(maskedPhone("+819012345678"), "***-****-5678");
  assert.equal(maskedPhone("+815012345678"), "***-****-5678");
  assert.equal(maskedPhone("+81312345678"), "**-****-5678");
});

test("any other number keeps its country code hidden too", () => {
  assert.equal(maskedPhone("+12025550123"), "+*******0123");
});
