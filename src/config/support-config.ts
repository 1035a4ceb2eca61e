/**
 * The shop's support contact (MAMORI_SUPPORT_URL, MAMORI_SUPPORT_PHONE, MAMORI_SUPPORT_HOURS, all
 * optional): shown on every page that refuses someone (a suspended or closed account, a country
 * the shop does not allow, maintenance) and at the end of every mail, so a blocked customer always
 * has somewhere to turn. Nothing set: the pages and mails say only "contact the shop".
 */
export type SupportContact = {
  url: string | undefined;
  phone: string | undefined;
  /** Free text, as the shop writes it: `平日 10:00〜18:00`. */
  hours: string | undefined;
  /** The same in English (MAMORI_SUPPORT_HOURS_EN: `Weekdays 10:00-18:00 JST`); unset: `hours`. */
  hoursEn: string | undefined;
};

/** The support hours in the reader's language. */
export function supportHours(support: SupportContact, ja: boolean): string | undefined {
  return ja ? support.hours : (support.hoursEn ?? support.hours);
}

const maxLength = 200;

export function parseSupportContact(
  source: Record<string, string | undefined>,
  problems: string[],
): SupportContact {
  const text = (name: string): string | undefined => {
    const value = source[name]?.trim();
    if (!value) return undefined;
    if (value.length > maxLength || /\p{Cc}/u.test(value)) {
      problems.push(`${name} must be one line of at most ${maxLength} characters`);
      return undefined;
    }
    return value;
  };
  const url = text("MAMORI_SUPPORT_URL");
  if (url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      !parsed ||
      (parsed.protocol !== "https:" && parsed.protocol !== "http:" && parsed.protocol !== "mailto:")
    )
      problems.push(`MAMORI_SUPPORT_URL must be an http(s):// or mailto: URL (got ${url})`);
  }
  const phone = text("MAMORI_SUPPORT_PHONE");
  if (phone !== undefined && !/^[+\d][\d\- ()]{3,30}$/.test(phone))
    problems.push(`MAMORI_SUPPORT_PHONE must be a phone number such as 0120-123-456 (got ${phone})`);
  return { url, phone, hours: text("MAMORI_SUPPORT_HOURS"), hoursEn: text("MAMORI_SUPPORT_HOURS_EN") };
}

export function hasSupportContact(support: SupportContact): boolean {
  return support.url !== undefined || support.phone !== undefined;
}
