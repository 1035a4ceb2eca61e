import { type CountryCode, parsePhoneNumberFromString } from "../../identity/phone-numbers.ts";

/**
 * Which phone numbers may receive a code, and how. Japanese numbers by their line type
 * (libphonenumber's max metadata): mobiles (060/070/080/090) take SMS and calls; 050 IP phones
 * and landlines take calls only; toll-free (0120/0800), navi-dial (0570), M2M (020) and premium
 * numbers take neither. Other countries only when the operator allows them.
 */
export type PhoneChannel = "sms" | "voice";

export type PhoneRefusal = "phone_invalid" | "phone_cannot_receive_sms" | "phone_not_allowed";

export type PhoneCheck =
  | { ok: true; e164: string; country: string; lineType: LineType }
  | { ok: false; reason: PhoneRefusal };

export type LineType = "mobile" | "voip" | "fixed_line" | "other";

const homeCountry: CountryCode = "JP";

function lineTypeOf(type: string | undefined): LineType {
  switch (type) {
    case "MOBILE":
    case "FIXED_LINE_OR_MOBILE":
      return "mobile";
    case "VOIP":
      return "voip";
    case "FIXED_LINE":
      return "fixed_line";
    default:
      // TOLL_FREE, PREMIUM_RATE, SHARED_COST, UAN, PAGER (020 M2M), PERSONAL_NUMBER, VOICEMAIL, unknown.
      return "other";
  }
}

export function checkPhoneForChannel(
  input: string,
  channel: PhoneChannel,
  allowedCountries: ReadonlySet<string>,
): PhoneCheck {
  const text = input
    .trim()
    .normalize("NFKC")
    .replace(/[\u2010-\u2015\u2212\u30fc\uff70]/g, "-");
  if (!/^\+?[\d\s\-().]{6,24}$/.test(text)) return { ok: false, reason: "phone_invalid" };
  const parsed = parsePhoneNumberFromString(text, homeCountry);
  if (!parsed?.isValid() || !parsed.country) return { ok: false, reason: "phone_invalid" };
  if (parsed.country !== homeCountry && !allowedCountries.has(parsed.country)) {
    return { ok: false, reason: "phone_not_allowed" };
  }
  const lineType = lineTypeOf(parsed.getType());
  if (lineType === "other") return { ok: false, reason: "phone_not_allowed" };
  // An IP phone or a landline cannot receive a text; it can take a voice call.
  if (channel === "sms" && lineType !== "mobile") return { ok: false, reason: "phone_cannot_receive_sms" };
  return { ok: true, e164: parsed.number, country: parsed.country, lineType };
}
