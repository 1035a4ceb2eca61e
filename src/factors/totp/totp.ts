import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../../crypto/secrets.ts";

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226): SHA-1, 6 digits, 30-second steps — what Google
 * Authenticator, Microsoft Authenticator, 1Password and `oathtool` all speak.
 */
export const totpDigits = 6;
export const totpStepSeconds = 30;
/** A 160-bit secret, as RFC 4226 recommends for HMAC-SHA-1. */
export const totpSecretBytes = 20;

/** HOTP: the HMAC of the 8-byte big-endian counter, dynamically truncated to `digits` digits. */
export function hotp(secret: Buffer, counter: number, digits = totpDigits): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", secret).update(message).digest();
  // The low 4 bits of the last byte pick where the 31-bit number starts (RFC 4226 5.3).
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fff_ffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

export function totpStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / totpStepSeconds);
}

export type TotpMatch = { ok: true; step: number } | { ok: false; reason: "incorrect" | "replayed" };

/**
 * Checks a code against the steps just before, at and after now (±30 s of clock drift). A step at
 * or before `lastUsedStep` is refused as a replay: a code works once, and never an older one after.
 */
export function verifyTotp(secret: Buffer, code: string, at: Date, lastUsedStep: number | null): TotpMatch {
  const normalized = code.normalize("NFKC").replace(/[\s-]/g, "");
  if (!/^\d{6}$/.test(normalized)) return { ok: false, reason: "incorrect" };
  const now = totpStep(at);
  let matched: number | undefined;
  // Every candidate is computed and compared, so timing does not tell which step matched.
  for (const step of [now - 1, now, now + 1]) {
    if (constantTimeEqual(hotp(secret, step), normalized) && matched === undefined) matched = step;
  }
  if (matched === undefined) return { ok: false, reason: "incorrect" };
  if (lastUsedStep !== null && matched <= lastUsedStep) return { ok: false, reason: "replayed" };
  return { ok: true, step: matched };
}

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding: the form authenticator apps and otpauth:// URIs take. */
export function toBase32(bytes: Buffer): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/** The key as people type it: groups of four (`JBSW Y3DP …`). */
export function groupedKey(base32: string): string {
  return (base32.match(/.{1,4}/g) ?? []).join(" ");
}

/** `otpauth://totp/Mamori:hanako%40example.jp?secret=…&issuer=Mamori&algorithm=SHA1&digits=6&period=30` */
export function otpauthUri(issuer: string, accountName: string, secret: Buffer): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  const query = new URLSearchParams({
    secret: toBase32(secret),
    issuer,
    algorithm: "SHA1",
    digits: String(totpDigits),
    period: String(totpStepSeconds),
  });
  return `otpauth://totp/${label}?${query.toString()}`;
}
