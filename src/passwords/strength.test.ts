import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { test } from "node:test";
import { assessPassword, checkPasswordPolicy } from "./policy.ts";
import { estimateStrength, maxScoredLength } from "./strength.ts";

const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join("");

function randomPassword(length: number, alphabet = printable): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

test("zxcvbn scores only the first 32 characters of a very long random password: the same estimate as that prefix", () => {
  // Attack: a 4,096-character random password (the largest the API takes) sent again and again,
  // each costing zxcvbn hundreds of milliseconds of the event loop that every request shares.
  assert.equal(maxScoredLength, 32);
  for (const length of [33, 64, 4096]) {
    const password = randomPassword(length);
    const prefix = password.slice(0, maxScoredLength);
    assert.deepEqual(estimateStrength(password, []), estimateStrength(prefix, []), `${length} characters`);
  }
  // Not a no-op: a weak start followed by a strong end is judged by its start.
  const weakStart = "a".repeat(maxScoredLength);
  assert.ok(estimateStrength(`${weakStart}${randomPassword(32)}`, []).score <= 1);
  assert.equal(estimateStrength(`${randomPassword(32)}${weakStart}`, []).score, 4);
});

test("the policy at sign-up, reset and change scores a long new password on its first 32 characters only, but checks the rest on the whole", () => {
  const limits = { passwordMinLength: 8, passwordMaxLength: 256, passwordMinScore: 3 };
  const owner = { email: "hanako.yamada@example.jp", name: "Hanako Yamada" };
  // The first 32 characters decide zxcvbn's verdict, whatever follows (the same bound as the meter).
  const weakStart = `${"1234".repeat(8)}${randomPassword(64)}`;
  const verdict = checkPasswordPolicy(weakStart, owner, limits);
  assert.deepEqual(verdict, { ok: false, problem: { code: "password_too_weak" } });
  assert.equal(
    assessPassword(weakStart, owner, limits).estimate.score,
    estimateStrength("1234".repeat(8), []).score,
  );
  // The identifiers and the length are still checked on the whole password, past the prefix.
  const strongStart = randomPassword(maxScoredLength, "0123456789!#%&*+=?@^~");
  assert.equal(checkPasswordPolicy(`${strongStart}x`, owner, limits).ok, true);
  assert.deepEqual(checkPasswordPolicy(`${strongStart}-yamada`, owner, limits), {
    ok: false,
    problem: { code: "password_contains_identifier" },
  });
  assert.deepEqual(checkPasswordPolicy(`${strongStart}${"x".repeat(257 - maxScoredLength)}`, owner, limits), {
    ok: false,
    problem: { code: "password_too_long", values: { max: 256 } },
  });
});
