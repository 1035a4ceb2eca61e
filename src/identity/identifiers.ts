import { parsePhoneNumberFromString } from "./phone-numbers.ts";

export type Identifier = { kind: "email"; email: string } | { kind: "phone"; phone: string };

const maxEmailLength = 254;

// Characters that show nothing or reorder what is shown: zero-width spaces and joiners (U+200B–U+200D),
// the word joiner (U+2060), the byte-order mark (U+FEFF), bidirectional marks, embeddings, overrides
// and isolates (U+200E/F, U+202A–U+202E, U+2066–U+2069): all "format" characters (Cf), and controls.
const invisibleCharacter = /[\p{Cf}\p{Cc}]/u;

/**
 * Normalises an email address for storage and lookup: trimmed, NFKC (full-width
 * `ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ`, typed with a Japanese keyboard, is `hanako@example.jp`),
 * lower-cased. Returns undefined when it is not an address a person could receive mail at (one @,
 * a dotted domain, no spaces), or when it holds an invisible or bidirectional character. Attack:
 * `hana\u200Bko@example.jp` shows as the owner's address, so a second account under it (or a mail
 * sent to it) would pass for theirs.
 */
export function normalizeEmail(input: string): string | undefined {
  if (invisibleCharacter.test(input)) return undefined;
  const email = input.trim().normalize("NFKC").toLowerCase();
  if (invisibleCharacter.test(email)) return undefined;
  if (email.length === 0 || email.length > maxEmailLength) return undefined;
  const at = email.lastIndexOf("@");
  if (at <= 0 || at !== email.indexOf("@")) return undefined;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || /[\s<>()[\]\\,;:"]/.test(email)) return undefined;
  if (
    !/^[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)+$/u.test(
      domain,
    )
  ) {
    return undefined;
  }
  return email;
}

/**
 * A phone number in E.164 (`+819012345678`), read as Japanese unless it starts with `+`:
 * `090-1234-5678`, `09012345678`, `+81 90 1234 5678` all give the same number.
 */
export function normalizePhone(input: string): string | undefined {
  // Japanese keyboards type many dashes (－ ー ‐ − …); they all separate digit groups.
  const text = input
    .trim()
    .normalize("NFKC")
    .replace(/[\u2010-\u2015\u2212\u30fc\uff70]/g, "-");
  if (!/^\+?[\d\s\-().]{6,24}$/.test(text)) return undefined;
  const parsed = parsePhoneNumberFromString(text, "JP");
  if (!parsed?.isValid()) return undefined;
  return parsed.number;
}

/** Reads a sign-in identifier: an email address, or else a phone number. */
export function parseIdentifier(input: string): Identifier | undefined {
  // A full-width ＠ is an @ too (NFKC, as normalizeEmail reads it).
  if (input.normalize("NFKC").includes("@")) {
    const email = normalizeEmail(input);
    return email ? { kind: "email", email } : undefined;
  }
  const phone = normalizePhone(input);
  return phone ? { kind: "phone", phone } : undefined;
}

/** `t***@example.co.jp`: enough for the owner to recognise, too little for anyone else. */
export function maskEmail(email: string): string {
  const [local = "", domain = ""] = email.split("@");
  return `${local.slice(0, 1)}***@${domain}`;
}

/** `+81 90-****-5678` style: the last four digits only. */
export function maskPhone(e164: string): string {
  return `${e164.slice(0, -4).replace(/\d/g, "*")}${e164.slice(-4)}`;
}
