import assert from "node:assert/strict";
import { test } from "node:test";
import { assessPassword, checkPasswordPolicy } from "./policy.ts";

const limits = { passwordMinLength: 8, passwordMaxLength: 256, passwordMinScore: 3 };
const owner = { email: "hanako.yamada@example.jp", name: "Hanako Yamada" };

function problem(password: string): string {
  const result = checkPasswordPolicy(password, owner, limits);
  return result.ok ? "ok" : result.problem.code;
}

test("a password shorter than the minimum is refused, counted in characters not bytes", () => {
  assert.equal(problem("Xq7!kd9"), "password_too_short");
  // Eight kanji are eight characters (24 bytes in UTF-8): long enough.
  assert.notEqual(problem("漢字仮名交文章例"), "password_too_short");
});

test("a password longer than the maximum is refused", () => {
  assert.equal(problem("x".repeat(257)), "password_too_long");
});

test("a common or breached password is refused", () => {
  assert.equal(problem("password1"), "password_too_common");
  assert.equal(problem("Qwertyuiop"), "password_too_common");
});

test("a password containing the person's email or name is refused", () => {
  assert.equal(problem("hanako.yamada-2025!"), "password_contains_identifier");
  assert.equal(problem("xyz-YAMADA-river-77"), "password_contains_identifier");
});

test("a guessable password that is not on the list is refused as weak", () => {
  assert.equal(problem("aaaaaaaaaaaa"), "password_too_weak");
});

test("a long passphrase passes without composition rules, normalised to NFC", () => {
  const decomposed = "cafe\u0301 orbit lantern velvet";
  const result = checkPasswordPolicy(decomposed, owner, limits);
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.password, "caf\u00e9 orbit lantern velvet");
});

test("assessing a password for the strength meter gives the verdict the policy gives, from one zxcvbn run", () => {
  for (const password of [
    "Xq7!kd9",
    "password1",
    "hanako.yamada-2025!",
    "aaaaaaaaaaaa",
    "cafe orbit lantern velvet",
  ]) {
    const { check, estimate } = assessPassword(password, owner, limits);
    assert.deepEqual(check, checkPasswordPolicy(password, owner, limits), password);
    assert.ok(estimate.score >= 0 && estimate.score <= 4);
  }
});
