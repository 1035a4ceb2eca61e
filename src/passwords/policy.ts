import type { Limits } from "../config/config.ts";
import { estimateStrength, isCommonPassword, type StrengthEstimate } from "./strength.ts";

export type PasswordProblem =
  | { code: "password_too_short"; values: { min: number } }
  | { code: "password_too_long"; values: { max: number } }
  | { code: "password_too_common" }
  | { code: "password_contains_identifier" }
  | { code: "password_too_weak" };

export type PasswordCheck = { ok: true; password: string } | { ok: false; problem: PasswordProblem };

export type PasswordOwner = { email: string; name: string };

type PolicyLimits = Pick<Limits, "passwordMinLength" | "passwordMaxLength" | "passwordMinScore">;

/**
 * The password rules of NIST SP 800-63B-4: length in characters (any Unicode, NFC-normalised),
 * no composition rules, refused when common/breached, when it contains the person's identifiers,
 * or when zxcvbn estimates it easy to guess. Returns the normalised password to hash.
 * `knownScore` is zxcvbn's score already estimated for this password with this owner's
 * `passwordIdentifiers`, so a caller that needs the estimate too runs zxcvbn once, not twice.
 */
export function checkPasswordPolicy(
  rawPassword: string,
  owner: PasswordOwner,
  limits: PolicyLimits,
  knownScore?: number,
): PasswordCheck {
  const password = rawPassword.normalize("NFC");
  const length = [...password].length;
  if (length < limits.passwordMinLength) {
    return { ok: false, problem: { code: "password_too_short", values: { min: limits.passwordMinLength } } };
  }
  if (length > limits.passwordMaxLength) {
    return { ok: false, problem: { code: "password_too_long", values: { max: limits.passwordMaxLength } } };
  }
  if (isCommonPassword(password)) return { ok: false, problem: { code: "password_too_common" } };
  const identifiers = passwordIdentifiers(owner);
  const lower = password.toLowerCase();
  if (identifiers.some((part) => lower.includes(part))) {
    return { ok: false, problem: { code: "password_contains_identifier" } };
  }
  if ((knownScore ?? estimateStrength(password, identifiers).score) < limits.passwordMinScore) {
    return { ok: false, problem: { code: "password_too_weak" } };
  }
  return { ok: true, password };
}

/**
 * The policy's verdict and zxcvbn's estimate (with the owner's identifiers as user inputs) from a
 * single zxcvbn run: what the strength meter shows is what registration would decide.
 */
export function assessPassword(
  rawPassword: string,
  owner: PasswordOwner,
  limits: PolicyLimits,
): { check: PasswordCheck; estimate: StrengthEstimate } {
  const password = rawPassword.normalize("NFC");
  const estimate = estimateStrength(password, passwordIdentifiers(owner));
  return { check: checkPasswordPolicy(password, owner, limits, estimate.score), estimate };
}

/** The pieces of a person's identity a password must not contain: the email, its local part, name words. */
export function passwordIdentifiers(owner: PasswordOwner): string[] {
  const email = owner.email.toLowerCase();
  const local = email.split("@")[0] ?? "";
  const nameWords = owner.name
    .toLowerCase()
    .normalize("NFC")
    .split(/[\s\u3000]+/);
  // Three characters is the shortest piece that is about the person rather than chance.
  return [email, local, owner.name.toLowerCase().replace(/[\s\u3000]+/g, ""), ...nameWords].filter(
    (part) => [...part].length >= 3,
  );
}
