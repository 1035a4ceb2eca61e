import type { ConfigSource, Locale } from "./config.ts";

/**
 * The shop's brand, as its customers know it: every page, mail, text message, voice call,
 * authenticator entry and recovery-code file names the shop, never the software behind it.
 * Japanese customers are taught that an SMS from a sender they do not know is a scam (詐欺SMS).
 *
 * Each setting has a Japanese value (`MAMORI_BRAND_NAME`) and may have an English one
 * (`MAMORI_BRAND_NAME_EN`); without it, English pages use the Japanese value. The colour is one
 * for both languages.
 */
export type Brand = {
  /** The name on pages, mail subjects (【やまだ商店】) and the authenticator entry. */
  name: string;
  /** The name in a text message's 【】; the whole message must fit one SMS (checked at start-up). */
  shortName: string;
  /** How the voice call says the name: a reading (ヤマダショウテン) where the name's kanji are ambiguous. */
  spokenName: string;
  /** The logo in the page header: a path on this site (/assets/…) or an https:// URL, or none. */
  logoUrl: string | undefined;
  /** The main colour (#rrggbb) of buttons and links; white text on it stays readable (4.5:1). */
  colour: string;
};

export type Brands = Readonly<Record<Locale, Brand>>;

// What development and tests show when no brand is set; production refuses to start without one.
const developmentName = { ja: "サンプルショップ", en: "Sample Shop" } as const;
const defaultColour = "#b45309";
const maxNameLength = 40;

/**
 * The SMS and voice texts the brand must fit, written here once so the start-up check measures
 * the very text customers receive (src/courier/phone-templates.ts uses these).
 */
export const phoneTexts = {
  sms: {
    ja: "【{shop}】セキュリティコード: {code}（{minutes}分間有効）。他人に教えないでください。",
    // Short, so a Japanese shop name (UCS-2: 70 characters) still fits one message in English.
    en: "{shop}: security code {code} (valid {minutes} min). Never share it.",
  },
  voice: {
    ja: "{shop}です。セキュリティコードは、{digits}、です。繰り返します。{digits}、です。",
    en: "This is {shop}. Your security code is: {digits}. Again: {digits}.",
  },
} as const;

/** Reads MAMORI_BRAND_* (and their _EN forms); each problem is added to `problems`. */
export function parseBrands(source: ConfigSource, production: boolean, problems: string[]): Brands {
  const ja = parseBrand(source, "ja", undefined, production, problems);
  // Unset English values follow the Japanese ones, except development's sample name.
  const named = source.MAMORI_BRAND_NAME?.trim() ? ja : { ...ja, name: developmentName.en };
  const en = parseBrand(
    source,
    "en",
    {
      ...named,
      shortName: source.MAMORI_BRAND_SHORT_NAME?.trim() ? ja.shortName : named.name,
      spokenName: source.MAMORI_BRAND_SPOKEN_NAME?.trim() ? ja.spokenName : named.name,
    },
    production,
    problems,
  );
  return { ja, en };
}

function parseBrand(
  source: ConfigSource,
  locale: Locale,
  fallback: Brand | undefined,
  production: boolean,
  problems: string[],
): Brand {
  const suffix = locale === "en" ? "_EN" : "";
  const read = (name: string): { key: string; value: string | undefined } => {
    const key = `MAMORI_BRAND_${name}${suffix}`;
    const value = source[key]?.trim();
    return { key, value: value ? value : undefined };
  };
  const nameSetting = read("NAME");
  if (locale === "ja" && nameSetting.value === undefined && production)
    problems.push(
      "MAMORI_BRAND_NAME is required in production: customers see the shop's name on every page, mail and text message",
    );
  const name = checkedName(nameSetting, fallback?.name ?? developmentName[locale], problems);
  const ownName = nameSetting.value !== undefined;
  const shortName = checkedName(read("SHORT_NAME"), ownName ? name : (fallback?.shortName ?? name), problems);
  const spokenName = checkedName(
    read("SPOKEN_NAME"),
    ownName ? name : (fallback?.spokenName ?? name),
    problems,
  );
  const logo = read("LOGO_URL");
  const logoUrl = logo.value === undefined ? fallback?.logoUrl : checkedLogo(logo.key, logo.value, problems);
  // One colour for the site in every language: MAMORI_BRAND_COLOUR (there is no _EN form).
  const colourSetting = {
    key: "MAMORI_BRAND_COLOUR",
    value: source.MAMORI_BRAND_COLOUR?.trim() || undefined,
  };
  const colour =
    fallback !== undefined
      ? fallback.colour
      : colourSetting.value === undefined
        ? defaultColour
        : checkedColour(colourSetting.key, colourSetting.value, problems);
  const sms = phoneTexts.sms[locale]
    .replace("{shop}", shortName)
    .replace("{code}", "123456")
    .replace("{minutes}", "10");
  const limit = smsSegmentLimit(sms);
  const shortKey =
    locale === "en" && read("SHORT_NAME").value === undefined
      ? "MAMORI_BRAND_SHORT_NAME_EN (unset, so the Japanese short or English name)"
      : `MAMORI_BRAND_SHORT_NAME${suffix}`;
  if (sms.length > limit)
    problems.push(
      `${shortKey} is too long for one text message: the code message would be ${sms.length} characters, over ${limit} (set a shorter name, such as ${locale === "ja" ? "やまだ商店" : "Yamada"})`,
    );
  return { name, shortName, spokenName, logoUrl, colour };
}

function checkedName(
  setting: { key: string; value: string | undefined },
  fallback: string,
  problems: string[],
): string {
  const value = setting.value;
  if (value === undefined) return fallback;
  // 【】 frame the name in subjects and texts; a name holding them would break that frame.
  if (value.length > maxNameLength || /[\p{Cc}【】<>]/u.test(value)) {
    problems.push(`${setting.key} must be one line of at most ${maxNameLength} characters, without 【】<>`);
    return fallback;
  }
  return value;
}

function checkedLogo(key: string, value: string, problems: string[]): string | undefined {
  if (value.startsWith("/") && !value.startsWith("//")) return value;
  try {
    if (new URL(value).protocol === "https:") return value;
  } catch {
    // reported below
  }
  problems.push(`${key} must be a path on this site (/assets/logo.svg) or an https:// URL (got ${value})`);
  return undefined;
}

function checkedColour(key: string, value: string, problems: string[]): string {
  if (!/^#[0-9a-fA-F]{6}$/.test(value)) {
    problems.push(`${key} must be a colour such as #b45309 (got ${value})`);
    return defaultColour;
  }
  const ratio = contrastWithWhite(value);
  if (ratio < 4.5) {
    problems.push(
      `${key} ${value} is too light: white text on it has a contrast of ${ratio.toFixed(2)}:1, under 4.5:1 (WCAG 2.1 AA); choose a darker shade`,
    );
    return defaultColour;
  }
  return value.toLowerCase();
}

/** WCAG 2.1 contrast ratio of white against an #rrggbb colour. */
export function contrastWithWhite(hex: string): number {
  const channel = (offset: number): number => {
    const c = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05);
}

// GSM 03.38's basic character set: a text of only these fits 160 characters per SMS; any other
// character (Japanese, an emoji) makes the whole message UCS-2, 70 characters.
const gsm7 =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/** How many characters one SMS holds for this text: 160 in GSM-7, 70 in UCS-2. */
export function smsSegmentLimit(text: string): number {
  for (const ch of text) if (!gsm7.includes(ch)) return 70;
  return 160;
}
