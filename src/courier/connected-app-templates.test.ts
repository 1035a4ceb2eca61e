import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/config.ts";
import { renderMessage } from "./templates.ts";

const brands = loadConfig({ MAMORI_BRAND_NAME: "テスト商店", MAMORI_BRAND_NAME_EN: "Test Shop" }).brands;

const removed = {
  kind: "connected_app_removed",
  name: "山田 花子",
  app: "やまだ商店",
  securityUrl: "https://login.example.jp/account/security/apps",
} as const;

test("the removed-access mail names the shop and the way back, in Japanese and English, text and HTML", () => {
  const ja = renderMessage(removed, "ja", brands.ja);
  assert.equal(ja.subject, "【テスト商店】お店・アプリのアクセスを削除しました");
  assert.match(ja.text, /山田 花子 様/);
  assert.match(ja.text, /「やまだ商店」がテスト商店のアカウントでお客様としてログイン/);
  assert.match(ja.text, /https:\/\/login\.example\.jp\/account\/security\/apps/);
  assert.match(ja.html, /やまだ商店/);
  const en = renderMessage(removed, "en", brands.en);
  assert.equal(en.subject, "Test Shop: A shop's access to your account was removed");
  assert.match(en.text, /“やまだ商店” can no longer sign you in with your Test Shop account/);
  assert.match(en.text, /If this wasn't you, reset your password now/);
});

test("a shop name with markup is escaped in the removed-access mail", () => {
  const message = renderMessage({ ...removed, app: "<img src=x onerror=alert(1)>" }, "en", brands.en);
  assert.doesNotMatch(message.html, /<img/);
  assert.match(message.html, /&lt;img/);
});
