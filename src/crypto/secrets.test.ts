import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { Random } from "../deps.ts";
import { constantTimeEqual, hmacHex, newId, newNumericCode, newOrderedId, newSecret } from "./secrets.ts";

function scriptedRandom(words: number[]): Random {
  return {
    bytes(length) {
      const buffer = Buffer.alloc(length);
      const word = words.shift();
      if (word === undefined) throw new Error("the script ran out of draws");
      buffer.writeUInt32BE(word, 0);
      return buffer;
    },
  };
}

test("a code draw in the last partial block is rejected, so no code is likelier than another", () => {
  // 2^32 = 4,294,967,296; the last complete block of 10^6 ends at 4,294,000,000. A draw at or past
  // it would make codes 000000–967295 one draw likelier: it is thrown away and drawn again.
  const random = scriptedRandom([4_294_967_295, 4_294_000_000, 4_293_999_999]);
  assert.equal(newNumericCode(random, 6), "999999");
});

test("codes are six digits with leading zeros kept", () => {
  assert.equal(newNumericCode(scriptedRandom([42]), 6), "000042");
  for (let i = 0; i < 200; i++) assert.match(newNumericCode({ bytes: (n) => Buffer.alloc(n, i) }), /^\d{6}$/);
});

test("ids and secrets carry 128 and 256 bits in URL-safe base32", () => {
  const random: Random = { bytes: (n) => Buffer.alloc(n, 0xff) };
  assert.match(newId(random, "acc"), /^acc_[0-9a-z]{26}$/);
  assert.match(newSecret(random), /^[0-9a-z]{52}$/);
});

test("hmac parts are length-prefixed, so moving a boundary changes the MAC", () => {
  const key = Buffer.alloc(32, 9);
  assert.notEqual(hmacHex(key, "ab", "c"), hmacHex(key, "a", "bc"));
});

test("constant-time comparison tells equal from different, whatever the lengths", () => {
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("abc", "abcd"), false);
});

test("constant-time comparison is right for hashes, UTF-8 text and input longer than its shared buffer", () => {
  const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  assert.equal(constantTimeEqual(hash, hash), true);
  assert.equal(constantTimeEqual(hash, `${hash.slice(0, 63)}9`), false);
  assert.equal(constantTimeEqual("パスワード", "パスワード"), true);
  assert.equal(constantTimeEqual("パスワード", "パスワーK"), false);
  const long = "x".repeat(5000);
  assert.equal(constantTimeEqual(long, long), true);
  assert.equal(constantTimeEqual(long, `${long.slice(1)}y`), false);
  // A shorter comparison after a longer one sees nothing of the earlier input.
  assert.equal(constantTimeEqual("ab", "ab"), true);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("", "a"), false);
});

test("ordered ids sort as text in the order they were made, within one millisecond too", () => {
  const random = { bytes: (length: number) => randomBytes(length) };
  const sameMillisecond = new Date("2026-11-26T03:00:00.000Z");
  const ids = Array.from({ length: 300 }, (_, i) =>
    newOrderedId(random, "aud", i < 200 ? sameMillisecond : new Date(sameMillisecond.getTime() + i)),
  );
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => /^aud_[0-9a-hjkmnp-tv-z]{29}$/.test(id)));
  // A later millisecond sorts after, whatever the counter says.
  const earlier = newOrderedId(random, "aud", new Date("2026-11-26T03:00:00.001Z"));
  const later = newOrderedId(random, "aud", new Date("2026-11-26T03:00:00.002Z"));
  assert.ok(earlier < later);
});
