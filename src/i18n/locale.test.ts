import assert from "node:assert/strict";
import { test } from "node:test";
import { format, negotiateLocale } from "./locale.ts";

test("Japanese is the default language", () => {
  assert.equal(negotiateLocale(undefined, undefined), "ja");
  assert.equal(negotiateLocale(undefined, "fr-FR,de;q=0.8"), "ja");
});

test("Accept-Language picks the first supported language by weight", () => {
  assert.equal(negotiateLocale(undefined, "fr;q=0.9, en-US;q=0.8, ja;q=0.1"), "en");
  assert.equal(negotiateLocale(undefined, "en;q=0, ja"), "ja");
});

test("the locale cookie, a person's own choice, wins over the browser", () => {
  assert.equal(negotiateLocale("en", "ja"), "en");
  assert.equal(negotiateLocale("xx", "en"), "en");
});

test("format fills placeholders and leaves unknown ones visible", () => {
  assert.equal(format("{a} and {b}", { a: 1 }), "1 and {b}");
});
