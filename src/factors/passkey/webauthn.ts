import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import type { PasskeyConfig } from "../../config/passkey-config.ts";
import { passkeyChallengeLifetimeSeconds } from "./challenges.ts";
import { type PasskeyRow, transportsOf } from "./passkeys.ts";

/**
 * The WebAuthn ceremonies, through @simplewebauthn/server: options for the browser, and checks of
 * what it sends back (challenge, origin, RP ID hash, signature, flags). Attestation is "none":
 * Mamori trusts the person's choice of device, not a vendor's certificate.
 */
const timeoutMs = passkeyChallengeLifetimeSeconds * 1000;

// Loaded on the first passkey ceremony, not at start: a process that only checks sessions never
// holds the library (and its CBOR and crypto dependencies) in memory.
let library: Promise<typeof import("@simplewebauthn/server")> | undefined;
function webauthn(): Promise<typeof import("@simplewebauthn/server")> {
  library ??= import("@simplewebauthn/server");
  return library;
}

// ES256, EdDSA, RS256: what passkey providers use. Post-quantum ML-DSA (-48/-49/-50) is left out
// until the verifier can check it (@simplewebauthn/server 14 refuses its assertions).
const supportedAlgorithmIds = [-7, -8, -257];

/** The WebAuthn user handle: the account id's bytes (random, no personal data). */
export function userHandleOf(accountId: string): string {
  return Buffer.from(accountId, "utf8").toString("base64url");
}

export async function registrationOptions(
  config: PasskeyConfig,
  input: {
    challenge: string;
    account: { id: string; email: string; name: string };
    existing: readonly PasskeyRow[];
  },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return (await webauthn()).generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userName: input.account.email,
    userDisplayName: input.account.name,
    userID: Buffer.from(input.account.id, "utf8"),
    challenge: Buffer.from(input.challenge, "base64url"),
    timeout: timeoutMs,
    attestationType: "none",
    supportedAlgorithmIDs: supportedAlgorithmIds,
    // The same authenticator twice would be one device listed as two.
    excludeCredentials: input.existing.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })),
    // A discoverable credential, so the sign-in page can offer it without an email address first.
    authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
  });
}

export type VerifiedRegistration = {
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  aaguid: string;
  backupEligible: boolean;
  backedUp: boolean;
  userVerified: boolean;
};

/** Checks a new credential; an unexpected origin, RP ID or challenge is `{ok:false}` with the reason for the log. */
export async function verifyRegistration(
  config: PasskeyConfig,
  input: {
    challenge: string;
    response: RegistrationResponseJSON;
    /**
     * False only for a conditional create (WebAuthn L3, section 5.1.3): the password manager makes
     * the passkey without a touch, so its UP flag is 0. Every other registration needs UP.
     */
    requireUserPresence?: boolean;
  },
): Promise<{ ok: true; credential: VerifiedRegistration } | { ok: false; detail: string }> {
  try {
    const verified = await (await webauthn()).verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: input.challenge,
      expectedOrigin: [...config.origins],
      expectedRPID: config.rpId,
      // A passkey without user verification is still a passkey: it counts as one factor.
      requireUserVerification: false,
      requireUserPresence: input.requireUserPresence ?? true,
      supportedAlgorithmIDs: supportedAlgorithmIds,
    });
    if (!verified.verified) return { ok: false, detail: "registration not verified" };
    const info = verified.registrationInfo;
    return {
      ok: true,
      credential: {
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
        signCount: info.credential.counter,
        transports: [...(input.response.response.transports ?? [])],
        aaguid: info.aaguid,
        backupEligible: info.credentialDeviceType === "multiDevice",
        backedUp: info.credentialBackedUp,
        userVerified: info.userVerified,
      },
    };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

export async function authenticationOptions(
  config: PasskeyConfig,
  input: { challenge: string; allow: readonly PasskeyRow[] },
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return (await webauthn()).generateAuthenticationOptions({
    rpID: config.rpId,
    challenge: Buffer.from(input.challenge, "base64url"),
    timeout: timeoutMs,
    // Empty for "which passkey?": the browser offers every passkey it holds for this RP ID.
    allowCredentials: input.allow.map((p) => ({ id: p.credential_id, transports: transportsOf(p) })),
    userVerification: "preferred",
  });
}

export type VerifiedAssertion = { signCount: number; userVerified: boolean; backedUp: boolean };

/**
 * Checks an assertion against the stored credential. The counter is compared by the caller
 * (`isCounterGoingBackwards`), so that a clone signal can be told apart from a bad signature.
 */
export async function verifyAssertion(
  config: PasskeyConfig,
  input: { challenge: string; response: AuthenticationResponseJSON; passkey: PasskeyRow },
): Promise<{ ok: true; assertion: VerifiedAssertion } | { ok: false; detail: string }> {
  const handle = input.response.response.userHandle;
  if (handle !== undefined && handle !== userHandleOf(input.passkey.account_id)) {
    return { ok: false, detail: "user handle does not match the credential's account" };
  }
  try {
    const verified = await (await webauthn()).verifyAuthenticationResponse({
      response: input.response,
      expectedChallenge: input.challenge,
      expectedOrigin: [...config.origins],
      expectedRPID: config.rpId,
      credential: {
        id: input.passkey.credential_id,
        publicKey: Buffer.from(input.passkey.public_key, "base64url"),
        // 0 turns the library's own counter check off; isCounterGoingBackwards() does it instead.
        counter: 0,
        // Stored from the browser's own list at registration.
        transports: transportsOf(input.passkey) as AuthenticatorTransport[],
      },
      requireUserVerification: false,
    });
    if (!verified.verified) return { ok: false, detail: "signature not verified" };
    const info = verified.authenticationInfo;
    return {
      ok: true,
      assertion: {
        signCount: info.newCounter,
        userVerified: info.userVerified,
        backedUp: info.credentialBackedUp,
      },
    };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

/**
 * WebAuthn Level 3, 7.2 step 22: when either counter is non-zero, the new one must be greater. A
 * counter at or below the stored one means two authenticators hold the same key: a clone.
 * Synced passkeys always report 0 and are never flagged.
 */
export function isCounterGoingBackwards(stored: number, received: number): boolean {
  return (stored > 0 || received > 0) && received <= stored;
}
