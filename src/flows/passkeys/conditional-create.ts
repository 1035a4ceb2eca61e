import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { listPasskeys } from "../../factors/passkey/passkeys.ts";
import { factorsOf } from "../../integration/assurance.ts";
import { type AuthenticatedSession, isRecentlyAuthenticated } from "../../session/sessions.ts";
import type { SafeHtml } from "../../views/html.ts";
import { passkeysPath } from "./pages.ts";
import { passkeyConditionalCreateBlock } from "./ui.ts";

/** How long after a password sign-in the first page still offers conditional create. */
const offerWindowSeconds = 5 * 60;

/**
 * Whether the page after a sign-in offers conditional create (WebAuthn Level 3): the session was
 * signed in with a password just now, and the account has no passkey yet. The registration
 * ceremony's own guards (a recent sign-in, two-step proven while it is on) still decide on the
 * server; this only keeps the script away from pages where the offer would make no sense.
 */
export async function conditionalCreateOffer(
  deps: Deps,
  auth: AuthenticatedSession,
  locale: Locale,
): Promise<SafeHtml | null> {
  if (!factorsOf(auth.session).includes("password")) return null;
  if (!isRecentlyAuthenticated(auth.session, deps.clock.now(), offerWindowSeconds)) return null;
  if ((await listPasskeys(deps.db, auth.account.id)).length > 0) return null;
  return passkeyConditionalCreateBlock(locale, passkeysPath);
}
