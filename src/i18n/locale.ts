import type { Locale } from "../config/config.ts";

export const locales: readonly Locale[] = ["ja", "en"];

export function isLocale(value: unknown): value is Locale {
  return value === "ja" || value === "en";
}

/**
 * The request's language: the `locale` cookie (a person's explicit choice) wins, then the first
 * supported language in Accept-Language, then Japanese.
 */
export function negotiateLocale(
  cookieLocale: string | undefined,
  acceptLanguage: string | undefined,
): Locale {
  if (isLocale(cookieLocale)) return cookieLocale;
  if (acceptLanguage) {
    const ranked = acceptLanguage
      .split(",")
      .map((part) => {
        const [tag = "", ...params] = part.trim().split(";");
        const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
        return { tag: tag.trim().toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
      })
      .filter((entry) => entry.tag && Number.isFinite(entry.q) && entry.q > 0)
      .sort((a, b) => b.q - a.q);
    for (const { tag } of ranked) {
      const primary = tag.split("-")[0];
      if (isLocale(primary)) return primary;
    }
  }
  return "ja";
}

/** Fills `{name}` placeholders; a missing value leaves the placeholder visible rather than "undefined". */
export function format(template: string, values: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values ? String(values[key]) : whole,
  );
}
