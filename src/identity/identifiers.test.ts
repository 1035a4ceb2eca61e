import assert from "node:assert/strict";
import { test } from "node:test";
import { maskEmail, maskPhone, normalizeEmail, normalizePhone, parseIdentifier } from "./identifiers.ts";

test("a Japanese mobile number written any usual way is one E.164 number", () => {
  for (const written of [
    "090-1234-5678",
    "09012345678",
    "+81 90 1234 5678",
    "０９０−１２３４−５６７８",
    "０９０ー１２３４ー５６７８",
    "(090) 1234-5678",
  ]) {
    assert.equal(normalizePhone(written), "+819012345678", written);
  }
});

test("text that is not a phone number is refused", () => {
  for (const written of ["", "090", "hello", "090-1234-5678; drop table", "+81 90 1234 5678 9999 1234"]) {
    assert.equal(normalizePhone(written), undefined, written);
  }
});

test("emails are trimmed and lower-cased, and non-addresses refused", () => {
  assert.equal(normalizeEmail("  Hanako@Example.CO.JP "), "hanako@example.co.jp");
  for (const bad of [
    "hanako",
    "a@b",
    "a@@b.jp",
    "a b@example.jp",
    "<a@example.jp>",
    `${"x".repeat(65)}@e.jp`,
  ]) {
    assert.equal(normalizeEmail(bad), undefined, bad);
  }
});

test("an email with a zero-width or bidirectional character is refused as invalid", () => {
  // Attack: `hana\u200Bko@example.jp` (or one with a right-to-left override) looks like the
  // owner's address, so an account under it would pass for the owner's.
  const invisible = ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u200E", "\u200F"];
  const bidi = ["\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069"];
  for (const character of [...invisible, ...bidi, "\u00AD", "\u0000"]) {
    for (const email of [
      `hana${character}ko@example.jp`,
      `hanako@exa${character}mple.jp`,
      `${character}hanako@example.jp`,
    ]) {
      assert.equal(normalizeEmail(email), undefined, JSON.stringify(email));
      assert.equal(parseIdentifier(email), undefined, JSON.stringify(email));
    }
  }
});

test("a full-width email is read as the ASCII one (NFKC)", () => {
  assert.equal(normalizeEmail("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ"), "hanako@example.jp");
  assert.equal(normalizeEmail("ＨＡＮＡＫＯ@Example.jp"), "hanako@example.jp");
  assert.deepEqual(parseIdentifier(" ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ "), {
    kind: "email",
    email: "hanako@example.jp",
  });
  // Japanese letters stay what they are (NFKC changes only compatibility forms).
  assert.equal(normalizeEmail("はなこ@例え.jp"), "はなこ@例え.jp");
});

test("an identifier with @ is an email, anything else is read as a phone", () => {
  assert.deepEqual(parseIdentifier("Taro@Example.jp"), { kind: "email", email: "taro@example.jp" });
  assert.deepEqual(parseIdentifier("080-1111-2222"), { kind: "phone", phone: "+818011112222" });
  assert.equal(parseIdentifier("not-an-identifier"), undefined);
});

test("masks show the owner enough to recognise and nobody more", () => {
  assert.equal(maskEmail("taro@example.co.jp"), "t***@example.co.jp");
  assert.equal(maskPhone("+819012345678"), "+********5678");
});
