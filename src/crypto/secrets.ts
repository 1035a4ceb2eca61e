import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Random } from "../deps.ts";

// Crockford's base32 without padding: URL-safe, unambiguous, case-insensitive for people.
const base32Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

function toBase32(bytes: Buffer): string {
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

/** A random identifier with 128 bits of entropy, e.g. `acc_0f3k…`: unguessable, safe in URLs. */
export function newId(random: Random, prefix: string): string {
  return `${prefix}_${toBase32(random.bytes(16))}`;
}

/** A 256-bit secret, base32. */
export function newSecret(random: Random): string {
  return toBase32(random.bytes(32));
}

/**
 * A numeric code of `digits` digits, uniform: a 32-bit draw is rejected when it falls in the
 * last partial block of 10^digits, so no code is likelier than another (no `% n` bias).
 */
export function newNumericCode(random: Random, digits = 6): string {
  const modulus = 10 ** digits;
  const limit = Math.floor(0x1_0000_0000 / modulus) * modulus;
  for (;;) {
    const value = random.bytes(4).readUInt32BE(0);
    if (value < limit) return String(value % modulus).padStart(digits, "0");
  }
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** HMAC-SHA-256 under the server key, hex: for low-entropy secrets such as 6-digit codes. */
export function hmacHex(key: Buffer, ...parts: string[]): string {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(`${part.length}:${part}`);
  return mac.digest("hex");
}

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // Lengths of hashes are public; comparing a hash with itself keeps the work the same.
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
