import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../config/config.ts";
import { renderPhoneMessage } from "./phone-templates.ts";
import { renderMessage } from "./templates.ts";

const brands = loadConfig({ MAMORI_BRAND_NAME: "テスト商店", MAMORI_BRAND_NAME_EN: "Test Shop" }).brands;

import type { TwoStepRecoveryMail } from "./two-step-recovery-templates.ts";

const mails: TwoStepRecoveryMail[] = [
  { kind: "two_step_recovery_code", name: "花子", code: "012345", lifetimeMinutes: 15 },
  {
    kind: "two_step_recovery_started",
    name: "花子",
    completesAt: "2031/04/02 18:00",
    cancelUrl: "https://id.example.jp/two-step-recovery/cancel?token=tsr_1.SECRET",
    reason: "—",
    startedBy: "account",
  },
  {
    kind: "two_step_recovery_started",
    name: "花子",
    completesAt: "2031/04/02 18:00",
    cancelUrl: "https://id.example.jp/two-step-recovery/cancel?token=tsr_1.SECRET",
    reason: "電話で確認",
    startedBy: "operator",
  },
  {
    kind: "two_step_recovery_cancelled",
    name: "花子",
    securityUrl: "https://id.example.jp/account/security",
  },
  {
    kind: "two_step_recovery_completed",
    name: "花子",
    securityUrl: "https://id.example.jp/account/security",
    immediate: "no",
  },
];

test("every two-step recovery mail fills its placeholders in both languages, and its body never names Mamori", () => {
  for (const mail of mails) {
    for (const locale of ["ja", "en"] as const) {
      const rendered = renderMessage(mail, locale, brands[locale]);
      assert.doesNotMatch(rendered.subject, /[{}]|Mamori/, `${mail.kind} ${locale} subject`);
      // The footer is the layout's; the words of these mails speak of the shop's service only.
      const body = rendered.text.split("\n\n-- \n")[0] ?? "";
      assert.doesNotMatch(body, /[{}]|Mamori/, `${mail.kind} ${locale} body`);
      if (mail.kind === "two_step_recovery_code") assert.doesNotMatch(rendered.subject, /012345/);
    }
  }
});

test("the started mail and the SMS carry the cancel link, and the operator's reason", () => {
  const started = renderMessage(mails[2] as TwoStepRecoveryMail, "ja", brands.ja);
  assert.match(started.text, /cancel\?token=tsr_1\.SECRET/);
  assert.match(started.text, /電話で確認/);
  const sms = renderPhoneMessage(
    {
      kind: "two_step_recovery_notice",
      completesAt: "2031/04/02 18:00",
      cancelUrl: "https://id.example.jp/c?token=t",
    },
    "ja",
    "sms",
    brands.ja,
  );
  assert.match(sms, /https:\/\/id\.example\.jp\/c\?token=t/);
  assert.match(sms, /2031\/04\/02 18:00/);
  assert.doesNotMatch(sms, /Mamori|[{}]/);
});
