import type { DeviceCode, Provider } from "oidc-provider";
import { sha256Hex } from "../crypto/secrets.ts";
import type { Deps } from "../deps.ts";
import { acrOf, amrOf, factorsOf } from "../integration/assurance.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { reserveAttempt } from "../throttle/attempts.ts";
import { ipThrottleSubject } from "../throttle/ip-subject.ts";
import type { ThrottleRule } from "../throttle/throttle.ts";
import { claimDeviceCode } from "./device-code-adapter.ts";
import { withProviderRequest } from "./provider-request.ts";

/**
 * The Device Authorization Grant (RFC 8628): what a device's user code is, how the person's typing
 * becomes one, how often it may be tried, and the answer (approve or deny) written on the code.
 *
 * User codes are eight letters of the BASE-20 consonants (RFC 8628, section 6.1): no vowels, so no
 * word, and no 0/O, 1/I or 5/S to confuse; shown as `BCDF-GHJK`. 20^8 ≈ 2.6 × 10^10 codes, each
 * alive ten minutes, and guesses limited per address: guessing one is hopeless.
 */
export const userCodeCharset = "BCDFGHJKLMNPQRSTVWXZ";
export const userCodeMask = "****-****";
const userCodeLength = 8;

/** oidc-provider's `features.deviceFlow`: Mamori's pages (device-routes.ts) replace its HTML sources. */
export const deviceFlowFeature = { enabled: true, charset: "base-20", mask: userCodeMask };

/**
 * What the person typed, as the stored code: full-width letters and digits made half-width (NFKC),
 * upper case, every dash, space or other separator dropped. Anything not eight letters of the
 * charset is no code (undefined), and is never looked up.
 */
export function normalizeUserCode(input: string): string | undefined {
  const letters = input
    .normalize("NFKC")
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, "");
  if (letters.length !== userCodeLength) return undefined;
  return [...letters].every((char) => userCodeCharset.includes(char)) ? letters : undefined;
}

/** A stored code as shown to the person: `BCDF-GHJK`. */
export function displayUserCode(normalized: string): string {
  return `${normalized.slice(0, 4)}-${normalized.slice(4)}`;
}

/** Wrong codes from one address (IPv6: one /64) in a window; a right one gives its try back. */
export const wrongCodesPerIp: ThrottleRule = { limit: 10, windowSeconds: 15 * 60 };
/** Entries of one code, right or wrong, from anywhere, while it lives: a code is typed a few times, not hammered. */
export const entriesPerCode: ThrottleRule = { limit: 10, windowSeconds: 10 * 60 };

export type FoundCode =
  | { ok: true; code: DeviceCode; userCode: string }
  | { ok: false; reason: "malformed" | "not_found" | "expired" | "used" }
  | { ok: false; reason: "too_many"; retryAfterSeconds: number };

/**
 * The pending device code the person typed. Every entry first reserves a try (per address, and per
 * code for a well-formed one) before the code is looked up, so requests sent together never check
 * more codes than the limit; a code found gives the address's try back.
 */
export async function findTypedCode(
  deps: Deps,
  provider: Provider,
  input: string,
  ip: string,
): Promise<FoundCode> {
  const now = deps.clock.now();
  const perIp = await reserveAttempt(
    deps.throttle,
    `device-code:ip:${ipThrottleSubject(ip)}`,
    wrongCodesPerIp,
    now,
  );
  if (!perIp.allowed) return { ok: false, reason: "too_many", retryAfterSeconds: perIp.retryAfterSeconds };
  const userCode = normalizeUserCode(input);
  if (!userCode) return { ok: false, reason: "malformed" };
  const perCode = await reserveAttempt(
    deps.throttle,
    `device-code:code:${sha256Hex(userCode)}`,
    entriesPerCode,
    now,
  );
  if (!perCode.allowed)
    return { ok: false, reason: "too_many", retryAfterSeconds: perCode.retryAfterSeconds };
  const code = await provider.DeviceCode.findByUserCode(userCode, { ignoreExpiration: true });
  if (!code) return { ok: false, reason: "not_found" };
  await perIp.release();
  if (code.isExpired) return { ok: false, reason: "expired" };
  if (code.error !== undefined || code.accountId !== undefined) return { ok: false, reason: "used" };
  return { ok: true, code, userCode };
}

/** The scopes a device asked for that Mamori releases (the provider ignores any other). */
const knownScopes = ["openid", "email", "profile", "phone", "offline_access"];

export function scopesOf(code: DeviceCode): string[] {
  const requested = typeof code.params?.scope === "string" ? code.params.scope.split(" ") : [];
  return knownScopes.filter((scope) => requested.includes(scope));
}

/**
 * The person's answer, written on the code for the device's next poll: approved, the signed-in
 * account with how it signed in (`acr`, `amr`, `auth_time`) and a grant of the scopes shown;
 * denied, `access_denied`. False when another answer claimed the code first (it is answered once).
 */
export async function answerDeviceCode(
  deps: Deps,
  provider: Provider,
  code: DeviceCode,
  auth: AuthenticatedSession,
  approve: boolean,
): Promise<boolean> {
  if (!(await claimDeviceCode(deps.db, code.jti, auth.session.id))) return false;
  if (!approve) {
    Object.assign(code, { error: "access_denied", errorDescription: "the person refused the device" });
    await code.save();
    return true;
  }
  const scope = scopesOf(code).join(" ");
  const grant = new provider.Grant({ accountId: auth.account.id, clientId: code.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  Object.assign(code, {
    accountId: auth.account.id,
    acr: acrOf(auth.session.aal),
    amr: amrOf(factorsOf(auth.session), auth.session.aal),
    authTime: Math.floor(Date.parse(auth.session.authenticated_at) / 1000),
    grantId,
    scope,
  });
  // Saved as the approving browser's request: the adapter binds the code to this session.
  await withProviderRequest(
    async () => auth,
    () => code.save(),
  );
  return true;
}
