import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/config.ts";
import { renderMessage } from "./templates.ts";

const brands = loadConfig({ MAMORI_BRAND_NAME: "テスト商店", MAMORI_BRAND_NAME_EN: "Test Shop" }).brands;

const base = {
  kind: "passkey_changed",
  name: "山田 花子",
  passkey: "Chrome (Mac)",
  securityUrl: "https://login.example.jp/account/security",
} as const;

test("a passkey mail names the passkey and the way back, in Japanese and English, text and HTML", () => {
  const ja = renderMessage({ ...base, change: "added" }, "ja", brands.ja);
  assert.match(ja.subject, /パスキーを追加しました/);
  assert.match(ja.text, /「Chrome \(Mac\)」が追加されました/);
  assert.match(ja.text, /https:\/\/login\.example\.jp\/account\/security/);
  assert.match(ja.html, /Chrome \(Mac\)/);
  const en = renderMessage({ ...base, change: "removed" }, "en", brands.en);
  assert.match(en.subject, /^Test Shop: A passkey was removed$/);
  assert.match(en.text, /“Chrome \(Mac\)” was removed/);
});

test("the clone-signal mail says the sign-in was refused and what to do", () => {
  const en = renderMessage({ ...base, change: "clone_signal" }, "en", brands.en);
  assert.match(en.text, /was refused/);
  assert.match(en.text, /removing this passkey and resetting your password/);
  const ja = renderMessage({ ...base, change: "clone_signal" }, "ja", brands.ja);
  assert.match(ja.text, /拒否しました/);
});

test("a passkey name with markup is escaped in the HTML mail", () => {
  const message = renderMessage({ ...base, change: "added", passkey: "<b>x</b>" }, "en", brands.en);
  assert.doesNotMatch(message.html, /<b>x/);
});
