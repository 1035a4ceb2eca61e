import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/config.ts";
import { messageSamples, sampleUrl } from "./message-samples.ts";
import { type PhoneMessageTemplate, renderPhoneMessage } from "./phone-templates.ts";
import { renderMessage } from "./templates.ts";

// Every mail, text message and call a customer receives, rendered for a shop named テスト商店:
// each names that shop and never the software behind it (issue 18: an SMS from a sender the
// customer does not know looks like 詐欺SMS).
const brands = loadConfig({
  MAMORI_BRAND_NAME: "テスト商店",
  MAMORI_BRAND_NAME_EN: "Test Shop",
  MAMORI_BRAND_SHORT_NAME: "テスト商店",
  MAMORI_BRAND_SPOKEN_NAME: "テストショウテン",
  MAMORI_SUPPORT_URL: "https://shop.example.jp/help",
}).brands;

const software = /Mamori|マモリ|守り/i;

test("every mail names the shop in its subject and signature, and never Mamori, in Japanese and English", () => {
  for (const template of Object.values(messageSamples).flat()) {
    for (const locale of ["ja", "en"] as const) {
      const brand = brands[locale];
      const rendered = renderMessage(template, locale, brand, loadConfig({}).support);
      const where = `${template.kind} (${locale})`;
      assert.ok(
        rendered.subject.startsWith(locale === "ja" ? "【テスト商店】" : "Test Shop: "),
        `${where}: ${rendered.subject}`,
      );
      for (const part of [rendered.subject, rendered.text, rendered.html]) {
        assert.doesNotMatch(part, software, where);
        assert.doesNotMatch(part, /\{[a-zA-Z]+\}/, `${where}: a placeholder was left unfilled`);
      }
      assert.ok(rendered.text.trimEnd().endsWith(brand.name), `${where}: the signature names the shop`);
    }
  }
});

test("every text message and call names the shop by its short or spoken name, and never Mamori", () => {
  const phoneSamples: PhoneMessageTemplate[] = [
    { kind: "phone_code", code: "012345", lifetimeMinutes: 10 },
    { kind: "two_step_recovery_notice", completesAt: "2031/04/02 18:00", cancelUrl: sampleUrl },
  ];
  for (const template of phoneSamples) {
    for (const locale of ["ja", "en"] as const) {
      const sms = renderPhoneMessage(template, locale, "sms", brands[locale]);
      assert.doesNotMatch(sms, software);
      assert.ok(sms.startsWith(locale === "ja" ? "【テスト商店】" : "Test Shop: "), sms);
    }
  }
  const call = renderPhoneMessage(phoneSamples[0] as PhoneMessageTemplate, "ja", "voice", brands.ja);
  assert.match(call, /^テストショウテンです。/);
  assert.doesNotMatch(call, software);
  const callEn = renderPhoneMessage(phoneSamples[0] as PhoneMessageTemplate, "en", "voice", brands.en);
  assert.match(callEn, /^This is Test Shop\./);
});
