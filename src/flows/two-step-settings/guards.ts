import type { Deps } from "../../deps.ts";
import type { AuthenticatedSession } from "../../session/sessions.ts";
import { isRecentlyAuthenticated } from "../../session/sessions.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";

/** Who is changing their two-step settings, from which session and where. */
export type SettingsContext = { deps: Deps; auth: AuthenticatedSession; meta: RequestMeta };

/**
 * Sensitive settings need a password (or code, or passkey) proven in the last 10 minutes: a browser left
 * signed in at a shop counter must not be enough to turn protection off or add an attacker's phone.
 */
export function requireRecentAuthentication(ctx: SettingsContext): FlowFailure | undefined {
  const window = ctx.deps.config.limits.reauthenticationWindowSeconds;
  if (isRecentlyAuthenticated(ctx.auth.session, ctx.deps.clock.now(), window)) return undefined;
  return failure("reauthentication_required");
}

/**
 * While two-step verification is on, adding or removing a method also needs a code from a current
 * method (or a passkey that verified the person) within the window (step-up): a stolen password
 * alone cannot add the thief's phone.
 */
export function requireStepUp(ctx: SettingsContext): FlowFailure | undefined {
  if (!ctx.auth.account.two_step_enabled_at) return undefined;
  const at = ctx.auth.session.second_factor_at;
  const window = ctx.deps.config.limits.reauthenticationWindowSeconds * 1000;
  if (at && ctx.deps.clock.now().getTime() - Date.parse(at) <= window) return undefined;
  return failure("step_up_required");
}
