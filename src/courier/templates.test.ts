import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/config.ts";
import { renderMessage } from "./templates.ts";

const brands = loadConfig({ MAMORI_BRAND_NAME: "テスト商店", MAMORI_BRAND_NAME_EN: "Test Shop" }).brands;

const code = { kind: "registration_code", code: "012345", lifetimeMinutes: 15 } as const;

test("a code mail carries the code and its lifetime in both languages, plain text and HTML", () => {
  const ja = renderMessage(code, "ja", brands.ja);
  assert.match(ja.text, /セキュリティコード: 012345/);
  assert.match(ja.text, /15分/);
  assert.match(ja.html, /012345/);
  const en = renderMessage(code, "en", brands.en);
  assert.match(en.text, /Security code: 012345/);
  assert.match(en.text, /15 minutes/);
});

test("a code never appears in a subject, which lock screens show and the outbox keeps", () => {
  for (const locale of ["ja", "en"] as const) {
    assert.doesNotMatch(renderMessage(code, locale, brands[locale]).subject, /012345/);
  }
});

test("a name with markup is escaped in the HTML mail", () => {
  const message = renderMessage(
    {
      kind: "password_reset_code",
      name: "<img src=x onerror=alert(1)>",
      code: "012345",
      lifetimeMinutes: 15,
    },
    "en",
    brands.en,
  );
  assert.doesNotMatch(message.html, /<img/);
  assert.match(message.html, /&lt;img/);
});

test("an operator's status change tells the owner the reason", () => {
  const message = renderMessage(
    { kind: "account_status_changed", name: "Taro", status: "suspended", reason: "chargeback" },
    "en",
    brands.en,
  );
  assert.match(message.subject, /suspended/);
  assert.match(message.text, /Reason: chargeback/);
});
