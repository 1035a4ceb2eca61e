import type { Locale } from "../config/config.ts";
import { format } from "../i18n/locale.ts";
import { twoStepRecoverySms } from "./two-step-recovery-templates.ts";

/** A security code sent to a phone, by text message or read out in a voice call. */
export type PhoneMessageTemplate =
  | { kind: "phone_code"; code: string; lifetimeMinutes: number }
  /** "A two-step recovery started" (SMS only), with the single-use cancel link. */
  | { kind: "two_step_recovery_notice"; completesAt: string; cancelUrl: string };

const sms: Record<Locale, string> = {
  // One SMS segment: UCS-2 allows 70 characters, and this stays under it.
  ja: "【Mamori】セキュリティコード: {code}({minutes}分間有効)。他人に教えないでください。",
  en: "Mamori: your security code is {code} (valid for {minutes} min). Never share it.",
};

const voice: Record<Locale, string> = {
  ja: "マモリです。セキュリティコードは、{digits}、です。繰り返します。{digits}、です。",
  en: "This is Mamori. Your security code is: {digits}. Again: {digits}.",
};

/**
 * The text of a phone message. A voice call reads the code digit by digit, twice, in the
 * account's language, so a person can write it down on the first hearing and check it on the second.
 */
export function renderPhoneMessage(
  template: PhoneMessageTemplate,
  locale: Locale,
  channel: "sms" | "voice",
): string {
  if (template.kind === "two_step_recovery_notice") {
    return format(twoStepRecoverySms(locale), {
      completesAt: template.completesAt,
      cancelUrl: template.cancelUrl,
    });
  }
  const minutes = template.lifetimeMinutes;
  if (channel === "sms") return format(sms[locale], { code: template.code, minutes });
  const digits = [...template.code].join(locale === "ja" ? "、" : ", ");
  return format(voice[locale], { digits });
}
