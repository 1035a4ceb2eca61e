import assert from "node:assert/strict";
import { test } from "node:test";
import { renderMessage } from "./templates.ts";

const removed = {
  kind: "connected_app_removed",
  name: "山田 花子",
  app: "やまだ商店",
  securityUrl: "https://login.example.jp/account/security/apps",
} as const;

test("the removed-access mail names the shop and the way back, in Japanese and English, text and HTML", () => {
  const ja = renderMessage(removed, "ja");
  assert.equal(ja.subject, "【Mamori】お店・アプリのアクセスを削除しました");
  assert.match(ja.text, /山田 花子 様/);
  assert.match(ja.text, /「やまだ商店」がMamoriでお客様としてサインイン/);
  assert.match(ja.text, /https:\/\/login\.example\.jp\/account\/security\/apps/);
  assert.match(ja.html, /やまだ商店/);
  const en = renderMessage(removed, "en");
  assert.equal(en.subject, "Mamori: a shop's access to your account was removed");
  assert.match(en.text, /“やまだ商店” can no longer sign you in with Mamori/);
  assert.match(en.text, /If this wasn't you, reset your password now/);
});

test("a shop name with markup is escaped in the removed-access mail", () => {
  const message = renderMessage({ ...removed, app: "<img src=x onerror=alert(1)>" }, "en");
  assert.doesNotMatch(message.html, /<img/);
  assert.match(message.html, /&lt;img/);
});
