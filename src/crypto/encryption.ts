import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Secrets that must be read back (TOTP keys) are stored with AES-256-GCM under the first of
 * MAMORI_SECRET_KEYS. The stored form names its key by a short fingerprint, so after a rotation
 * (new key first, old keys after) old values still decrypt, and `needsReencryption` tells which
 * ones to rewrite. `purpose` is bound as associated data: a ciphertext copied from one column or
 * account to another does not decrypt.
 *
 *   v1.<key fingerprint>.<12-byte IV>.<ciphertext + 16-byte tag>   (base64url parts)
 */
const version = "v1";

function fingerprint(key: Buffer): string {
  return createHash("sha256").update("mamori key id").update(key).digest("base64url").slice(0, 8);
}

export function encryptSecret(keys: readonly Buffer[], plaintext: Buffer, purpose: string): string {
  const key = keys[0];
  if (!key) throw new Error("no encryption key is configured");
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(purpose, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return [version, fingerprint(key), iv.toString("base64url"), body.toString("base64url")].join(".");
}

/** The plaintext, or undefined when no configured key made it or it was altered. */
export function decryptSecret(keys: readonly Buffer[], stored: string, purpose: string): Buffer | undefined {
  const [storedVersion, keyId, ivText, bodyText] = stored.split(".");
  if (storedVersion !== version || !keyId || !ivText || !bodyText) return undefined;
  const key = keys.find((candidate) => fingerprint(candidate) === keyId);
  if (!key) return undefined;
  const body = Buffer.from(bodyText, "base64url");
  if (body.length < 16) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(ivText, "base64url"));
    decipher.setAAD(Buffer.from(purpose, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** True when a value was encrypted under an older key than the current first one. */
export function needsReencryption(keys: readonly Buffer[], stored: string): boolean {
  const current = keys[0];
  return current === undefined || stored.split(".")[1] !== fingerprint(current);
}
