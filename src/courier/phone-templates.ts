import { type Brand, phoneTexts } from "../config/brand-config.ts";
import type { Locale } from "../config/config.ts";
import { format } from "../i18n/locale.ts";
import { twoStepRecoverySms } from "./two-step-recovery-templates.ts";

/** A security code sent to a phone, by text message or read out in a voice call. */
export type PhoneMessageTemplate =
  | { kind: "phone_code"; code: string; lifetimeMinutes: number }
  /** "A two-step recovery started" (SMS only), with the single-use cancel link. */
  | { kind: "two_step_recovery_notice"; completesAt: string; cancelUrl: string };

/**
 * The text of a phone message, from the shop by name (【やまだ商店】): a text from a sender a
 * customer does not know looks like 詐欺SMS. The code text fits one SMS with the brand's short name
 * (checked at start-up, src/config/brand-config.ts). A voice call says the shop's spoken name and
 * reads the code digit by digit, twice, in the account's language, so a person can write it down
 * on the first hearing and check it on the second.
 */
export function renderPhoneMessage(
  template: PhoneMessageTemplate,
  locale: Locale,
  channel: "sms" | "voice",
  brand: Brand,
): string {
  if (template.kind === "two_step_recovery_notice") {
    return format(twoStepRecoverySms(locale), {
      shop: brand.shortName,
      completesAt: template.completesAt,
      cancelUrl: template.cancelUrl,
    });
  }
  const minutes = template.lifetimeMinutes;
  if (channel === "sms")
    return format(phoneTexts.sms[locale], { shop: brand.shortName, code: template.code, minutes });
  const digits = [...template.code].join(locale === "ja" ? "、" : ", ");
  return format(phoneTexts.voice[locale], { shop: brand.spokenName, digits });
}
