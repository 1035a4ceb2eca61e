import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";

/**
 * A tiny software authenticator for HTTP tests: an ES256 key made with node:crypto, the
 * authenticator data, clientDataJSON and "none" attestation a browser would send, CBOR encoded by
 * hand (a handful of major types is all WebAuthn needs). Independent of @simplewebauthn, so the
 * server's verifier is checked against bytes it did not make. Every field a browser would fill in
 * can be set wrong on purpose (origin, RP ID, counter) to show the attack a check stops.
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(length, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(length, 1);
  return b;
}

/** RFC 8949: unsigned (0), negative (1), bytes (2), text (3), array (4), map (5). */
export function cbor(value: Cbor): Buffer {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  const parts: Buffer[] = [head(5, value.size)];
  for (const [k, v] of value) parts.push(cbor(k), cbor(v));
  return Buffer.concat(parts);
}

const sha256 = (data: Buffer | string): Buffer => createHash("sha256").update(data).digest();
const b64url = (data: Buffer): string => data.toString("base64url");

export type CredentialOptions = {
  challenge: string;
  rp: { id: string };
  user: { id: string };
};

export type AuthenticatorOptions = {
  /** The origin the "browser" reports (default http://localhost:3000). */
  origin?: string;
  /** Sets the UV flag: the person was verified (PIN, biometrics). Default true. */
  userVerified?: boolean;
  /** Sets BE/BS: a synced passkey. Default false. */
  backupEligible?: boolean;
  /** Adds 1 to the counter on every assertion (a device-bound key). Default true; false: always 0. */
  counting?: boolean;
  /** Sets UP: the person was present (a touch). Default true; false: a conditional create's passkey. */
  userPresent?: boolean;
};

export type RegistrationJson = {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: "platform";
};

export type AssertionJson = {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: "platform";
};

export class SoftwareAuthenticator {
  readonly credentialId: Buffer = randomBytes(32);
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  origin: string;
  userVerified: boolean;
  backupEligible: boolean;
  counting: boolean;
  userPresent: boolean;
  /** The signature counter; a test may set it back to show a clone. */
  counter = 0;
  userHandle: string | undefined;
  rpId: string | undefined;

  constructor(options: AuthenticatorOptions = {}) {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.origin = options.origin ?? "http://localhost:3000";
    this.userVerified = options.userVerified ?? true;
    this.backupEligible = options.backupEligible ?? false;
    this.counting = options.counting ?? true;
    this.userPresent = options.userPresent ?? true;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  private flags(attested: boolean): number {
    // UP (user present) unless told otherwise; UV, BE/BS and AT (attested credential data) as set.
    let flags = this.userPresent ? 0x01 : 0;
    if (this.userVerified) flags |= 0x04;
    if (this.backupEligible) flags |= 0x08 | 0x10;
    if (attested) flags |= 0x40;
    return flags;
  }

  private coseKey(): Buffer {
    const jwk = this.publicKey.export({ format: "jwk" });
    const x = Buffer.from(jwk.x ?? "", "base64url");
    const y = Buffer.from(jwk.y ?? "", "base64url");
    // RFC 9053: kty 2 (EC2), alg -7 (ES256), crv 1 (P-256), x, y.
    return cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, x],
        [-3, y],
      ]),
    );
  }

  private authenticatorData(rpId: string, attested: boolean): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const parts = [sha256(rpId), Buffer.from([this.flags(attested)]), counter];
    if (attested) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, this.coseKey());
    }
    return Buffer.concat(parts);
  }

  private clientData(type: "webauthn.create" | "webauthn.get", challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), "utf8");
  }

  /** navigator.credentials.create(): `rpId`/`origin` override what an honest browser would use. */
  create(options: CredentialOptions, override: { rpId?: string; origin?: string } = {}): RegistrationJson {
    const rpId = override.rpId ?? options.rp.id;
    this.rpId = options.rp.id;
    this.userHandle = options.user.id;
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", this.authenticatorData(rpId, true)],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(
          this.clientData("webauthn.create", options.challenge, override.origin ?? this.origin),
        ),
        attestationObject: b64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** navigator.credentials.get(): signs authenticatorData || SHA-256(clientDataJSON) with ES256. */
  get(
    options: { challenge: string; rpId?: string },
    override: { rpId?: string; origin?: string } = {},
  ): AssertionJson {
    if (this.counting) this.counter += 1;
    const rpId = override.rpId ?? options.rpId ?? this.rpId ?? "localhost";
    const authData = this.authenticatorData(rpId, false);
    const clientData = this.clientData("webauthn.get", options.challenge, override.origin ?? this.origin);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}
