import { assuranceLevel, type Factor, type SessionRow } from "../session/sessions.ts";

/**
 * How a session was authenticated, in the words other software understands: an OpenID Connect
 * `acr` (authentication context class) from the session's assurance level, and `amr` values
 * (RFC 8176) from the factors it passed. One mapping for the OIDC provider, the forward-auth
 * check and the TypeScript client, so a shop reads the same answer whichever way it asks.
 */
export type AssuranceLevel = 1 | 2;

export const acrValues = {
  1: "urn:mamori:aal1",
  2: "urn:mamori:aal2",
} as const satisfies Record<AssuranceLevel, string>;

export type AcrValue = (typeof acrValues)[AssuranceLevel];

export function acrOf(aal: number): AcrValue {
  return aal >= 2 ? acrValues[2] : acrValues[1];
}

/** The level an `acr` value asks for; undefined for a value Mamori does not define. */
export function aalOfAcr(acr: string): AssuranceLevel | undefined {
  if (acr === acrValues[2]) return 2;
  if (acr === acrValues[1]) return 1;
  return undefined;
}

// RFC 8176 section 2. An emailed code is not a second factor (DESIGN.md), and RFC 8176 has no
// value for it: "email" is Mamori's own, which relying parties ignore unless they know it. A
// trusted browser proved a second factor when it was trusted; its cookie adds no value of its own.
const amrByFactor: Readonly<Record<Factor, readonly string[]>> = {
  password: ["pwd"],
  email_code: ["email"],
  sms_code: ["sms", "otp"],
  voice_code: ["tel", "otp"],
  totp: ["otp"],
  recovery_code: ["otp"],
  trusted_device: [],
  // A passkey is a key held by the device or synced by its platform: "swk" promises no more.
  passkey: ["swk"],
  // A passkey whose device verified the person (PIN or biometrics, unknown which): "mfa" comes
  // from the assurance level it reaches alone (src/session/sessions.ts).
  passkey_verified: ["swk"],
  // RFC 8176 "fed": another provider vouched for the person; its own "mfa", when accepted, shows as
  // "mfa" through the assurance level.
  federated: ["fed"],
  federated_mfa: [],
};

const knownFactors: ReadonlySet<string> = new Set(Object.keys(amrByFactor));

/** The factors a session row records (a JSON array); unknown entries are dropped. */
export function factorsOf(session: Pick<SessionRow, "factors">): Factor[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(session.factors);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter((f): f is Factor => typeof f === "string" && knownFactors.has(f));
}

/** RFC 8176 `amr` values for a session's factors; "mfa" when it reached assurance level 2. */
export function amrOf(factors: readonly Factor[], aal: number): string[] {
  const values = new Set<string>();
  for (const factor of factors) for (const value of amrByFactor[factor]) values.add(value);
  if (aal >= 2) values.add("mfa");
  return [...values];
}

/**
 * What can step a session up: a two-step method's code, a recovery code, or a passkey whose device
 * verified the person (a passkey without that is one factor only).
 */
export type StepUpFactor = Extract<
  Factor,
  "sms_code" | "voice_code" | "totp" | "recovery_code" | "passkey_verified"
>;

/**
 * A session's factors after a step-up with a two-step method or a user-verified passkey: the
 * method's factor added, and the assurance level they now reach. A password session that proved
 * an app's code is level 2, and says so to shops (`acr`, `amr`), not only to the settings' step-up guard.
 */
export function factorsAfterStepUp(
  session: Pick<SessionRow, "factors">,
  factor: StepUpFactor,
): { factors: Factor[]; aal: AssuranceLevel } {
  const factors = [...new Set([...factorsOf(session), factor])];
  return { factors, aal: assuranceLevel(factors) };
}
