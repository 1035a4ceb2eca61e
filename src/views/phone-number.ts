import { maskPhone } from "../identity/identifiers.ts";

/**
 * A phone number as its owner recognises it, all but the last four digits hidden: a Japanese
 * number in its usual groups (`***-****-5678`, `**-****-5678`), any other as maskPhone does it (`+*******0123`).
 */
export function maskedPhone(e164: string): string {
  if (!e164.startsWith("+81")) return maskPhone(e164);
  const national = `0${e164.slice(3)}`;
  const last = national.slice(-4);
  if (national.length === 11) return `***-****-${last}`;
  if (national.length === 10) return `**-****-${last}`;
  return maskPhone(e164);
}
