import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/config.ts";
import type { PasskeyChange } from "./passkey-templates.ts";
import { type PhoneMessageTemplate, renderPhoneMessage } from "./phone-templates.ts";
import type { ProfileChange } from "./profile-templates.ts";
import { type MessageTemplate, renderMessage } from "./templates.ts";
import type { TwoStepChange } from "./two-step-templates.ts";

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

const url = "https://login.example.jp/account/security";
const twoStepChanges: Record<TwoStepChange, true> = {
  enabled: true,
  disabled: true,
  method_added: true,
  method_removed: true,
  recovery_codes_replaced: true,
  recovery_code_used: true,
  locked: true,
};
const passkeyChanges: Record<PasskeyChange, true> = { added: true, removed: true, clone_signal: true };
const profileChanges: Record<ProfileChange, true> = { name: true, phone_added: true, phone_removed: true };

// One sample of every kind; the Record makes a new kind without a sample a type error.
const samples: Record<MessageTemplate["kind"], MessageTemplate[]> = {
  registration_code: [{ kind: "registration_code", code: "012345", lifetimeMinutes: 15 }],
  registration_existing_account: [
    { kind: "registration_existing_account", name: "山田 花子", signInUrl: url, resetUrl: url },
  ],
  account_created: [{ kind: "account_created", name: "山田 花子", securityUrl: url }],
  password_reset_code: [
    { kind: "password_reset_code", name: "山田 花子", code: "012345", lifetimeMinutes: 15 },
  ],
  password_changed: [
    { kind: "password_changed", name: "山田 花子", how: "reset", resetUrl: url },
    { kind: "password_changed", name: "山田 花子", how: "change", resetUrl: url },
  ],
  sign_in_paused: [{ kind: "sign_in_paused", name: "山田 花子", minutes: 15, resetUrl: url }],
  new_sign_in: [
    {
      kind: "new_sign_in",
      name: "山田 花子",
      browser: "Safari (iPhone)",
      place: "東京",
      time: "2031/04/01 18:00",
      securityUrl: url,
    },
  ],
  two_step_changed: Object.keys(twoStepChanges).map((change) => ({
    kind: "two_step_changed" as const,
    name: "山田 花子",
    change: change as TwoStepChange,
    method: "SMS ***-****-5678",
    left: 1,
    securityUrl: url,
  })),
  passkey_changed: Object.keys(passkeyChanges).map((change) => ({
    kind: "passkey_changed" as const,
    name: "山田 花子",
    change: change as PasskeyChange,
    passkey: "Chrome (Mac)",
    securityUrl: url,
  })),
  connected_app_removed: [
    { kind: "connected_app_removed", name: "山田 花子", app: "やまだ商店", securityUrl: url },
  ],
  two_step_recovery_code: [
    { kind: "two_step_recovery_code", name: "山田 花子", code: "012345", lifetimeMinutes: 15 },
  ],
  two_step_recovery_started: (["account", "operator"] as const).map((startedBy) => ({
    kind: "two_step_recovery_started" as const,
    name: "山田 花子",
    completesAt: "2031/04/02 18:00",
    cancelUrl: url,
    reason: "電話で確認",
    startedBy,
  })),
  two_step_recovery_cancelled: [{ kind: "two_step_recovery_cancelled", name: "山田 花子", securityUrl: url }],
  two_step_recovery_completed: (["yes", "no"] as const).map((immediate) => ({
    kind: "two_step_recovery_completed" as const,
    name: "山田 花子",
    securityUrl: url,
    immediate,
  })),
  federation_linked: [{ kind: "federation_linked", name: "山田 花子", provider: "LINE", securityUrl: url }],
  federation_unlinked: [
    { kind: "federation_unlinked", name: "山田 花子", provider: "LINE", securityUrl: url },
  ],
  account_status_changed: (["suspended", "closed", "active"] as const).map((status) => ({
    kind: "account_status_changed" as const,
    name: "山田 花子",
    status,
    reason: "ご本人からの連絡",
  })),
  signed_out_by_support: [
    { kind: "signed_out_by_support", name: "山田 花子", reason: "紛失", resetUrl: url },
  ],
  account_closed_by_owner: [
    { kind: "account_closed_by_owner", name: "山田 花子", time: "2031/04/01 18:00", eraseOn: "2031/05/01" },
  ],
  password_reset_blocked: (["suspended", "closed"] as const).map((status) => ({
    kind: "password_reset_blocked" as const,
    name: "山田 花子",
    status,
  })),
  sign_in_country_refused: [
    {
      kind: "sign_in_country_refused",
      name: "山田 花子",
      place: "米国",
      time: "2031/04/01 18:00",
      resetUrl: url,
    },
  ],
  email_change_code: [{ kind: "email_change_code", name: "山田 花子", code: "012345", lifetimeMinutes: 15 }],
  email_change_taken: [{ kind: "email_change_taken", name: "山田 花子", securityUrl: url }],
  email_changed: [
    { kind: "email_changed", name: "山田 花子", newEmail: "h***@example.jp", undoUrl: url, days: 7 },
  ],
  email_change_undone: [{ kind: "email_change_undone", name: "山田 花子", resetUrl: url }],
  profile_changed: Object.keys(profileChanges).map((change) => ({
    kind: "profile_changed" as const,
    name: "山田 花子",
    change: change as ProfileChange,
    phone: "***-****-5678",
    securityUrl: url,
  })),
  phone_moved: [{ kind: "phone_moved", name: "山田 花子", phone: "***-****-5678", securityUrl: url }],
};

const software = /Mamori|マモリ|守り/i;

test("every mail names the shop in its subject and signature, and never Mamori, in Japanese and English", () => {
  for (const template of Object.values(samples).flat()) {
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
    { kind: "two_step_recovery_notice", completesAt: "2031/04/02 18:00", cancelUrl: url },
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
