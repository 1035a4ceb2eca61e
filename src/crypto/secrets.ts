import { createHmac, hash, timingSafeEqual } from "node:crypto";
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

let orderedIdSequence = 0;

/**
 * An identifier that sorts (as text) in the order this process made them, for rows listed by time
 * whose times can be equal: the millisecond (48 bits), a counter of this process (32 bits) and 64
 * random bits, base32 (Crockford's alphabet is in ASCII order, and the length is fixed).
 */
export function newOrderedId(random: Random, prefix: string, now: Date): string {
  const bytes = Buffer.alloc(18);
  bytes.writeUIntBE(now.getTime(), 0, 6);
  bytes.writeUInt32BE(orderedIdSequence, 6);
  orderedIdSequence = (orderedIdSequence + 1) >>> 0;
  random.bytes(8).copy(bytes, 10);
  return `${prefix}_${toBase32(bytes)}`;
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
  // One-shot: no Hash object (and its OpenSSL context) to collect per call, as on every session check.
  return hash("sha256", value, "hex");
}

/** HMAC-SHA-256 under the server key, hex: for low-entropy secrets such as 6-digit codes. */
export function hmacHex(key: Buffer, ...parts: string[]): string {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(`${part.length}:${part}`);
  return mac.digest("hex");
}

// One buffer for the comparisons of hashes, codes and tokens (synchronous, so never two at once).
// A session check compares on every request: two new Buffers each time were thousands of pooled
// ArrayBuffers a second waiting for the garbage collector, and glibc's heap kept the high-water
// mark they made (about 15 MiB more resident memory after a minute of session checks). Longer
// input (what a client sent, up to the body limit) gets a buffer of its own, so the shared one
// never grows.
const comparisonScratch = Buffer.alloc(256);

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const leftLength = Buffer.byteLength(a);
  const rightLength = Buffer.byteLength(b);
  const needed = leftLength + rightLength;
  const scratch = needed <= comparisonScratch.length ? comparisonScratch : Buffer.alloc(needed);
  scratch.write(a, 0);
  scratch.write(b, leftLength);
  const left = scratch.subarray(0, leftLength);
  const right = scratch.subarray(leftLength, needed);
  // Lengths of hashes are public; comparing a value with itself keeps the work the same.
  const equal = leftLength === rightLength ? timingSafeEqual(left, right) : !timingSafeEqual(left, left);
  // What was compared (a code, a token's hash) does not stay in memory.
  scratch.fill(0, 0, needed);
  return equal;
}
