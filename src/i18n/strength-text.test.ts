import assert from "node:assert/strict";
import { test } from "node:test";
import { crackTimeDisplay, strengthSuggestions, strengthWarning } from "./strength-text.ts";

test("crack times are rounded to their largest unit, in Japanese units and in English with plurals", () => {
  const cases: [number, string, string][] = [
    [0.5, "1秒未満", "less than a second"],
    [1, "1秒", "1 second"],
    [42, "42秒", "42 seconds"],
    [90, "2分", "2 minutes"],
    [3 * 3600, "3時間", "3 hours"],
    [3600, "1時間", "1 hour"],
    [5 * 86_400, "5日", "5 days"],
    [62 * 86_400, "2か月", "2 months"],
    [40 * 372 * 86_400, "40年", "40 years"],
    [1e20, "数世紀", "centuries"],
  ];
  for (const [seconds, ja, en] of cases) {
    assert.equal(crackTimeDisplay(seconds, "ja"), ja, `${seconds} s`);
    assert.equal(crackTimeDisplay(seconds, "en"), en, `${seconds} s`);
  }
});

test("zxcvbn's feedback keys are put into words; an unknown key is left out rather than shown raw", () => {
  assert.equal(strengthWarning("topTen", "ja"), "非常によく使われているパスワードです。");
  assert.equal(strengthWarning("topTen", "en"), "This is a heavily used password.");
  assert.equal(strengthWarning(null, "ja"), null);
  assert.equal(strengthWarning("somethingNew", "en"), null);
  assert.equal(strengthWarning("toString", "en"), null);
  assert.deepEqual(strengthSuggestions(["useWords", "somethingNew", "noNeed"], "ja"), [
    "いくつかの単語を組み合わせてください。よくあるフレーズは避けてください。",
    "記号や数字、大文字を使わなくても、強いパスワードは作れます。",
  ]);
});
