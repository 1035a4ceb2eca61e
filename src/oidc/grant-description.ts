import type { Locale } from "../config/config.ts";
import { grantText } from "../i18n/grant-text.ts";
import { html, type SafeHtml } from "../views/html.ts";

/**
 * What a shop may see and for how long, described from the grant's scopes: one function for the
 * consent page (before the grant) and "Apps and websites" (after it), so the person reads the same
 * words in both places. `offline_access` is not an item of information but the grant's duration.
 */
export type GrantDescription = { items: string[]; duration: string };

/** The scopes described, in this order; others (none today) are not shown. */
const describedScopes = ["openid", "email", "profile", "phone"] as const;

export function describeGrant(locale: Locale, scopes: readonly string[]): GrantDescription {
  const t = grantText(locale);
  const granted = new Set(scopes);
  return {
    items: describedScopes
      .filter((scope) => granted.has(scope))
      .map((scope) => t.scopes[scope])
      .filter((text): text is string => text !== undefined),
    duration: granted.has("offline_access") ? t.offline : t.untilSignOut,
  };
}

/** The description as the pages show it: what the shop can see, then for how long. */
export function grantDescriptionHtml(locale: Locale, scopes: readonly string[]): SafeHtml {
  const t = grantText(locale);
  const described = describeGrant(locale, scopes);
  return html`<div class="grant">
<p>${t.canSee}</p>
<ul class="scopes">
${described.items.map((text) => html`<li>${text}</li>`)}
</ul>
<p>${t.durationLabel}: ${described.duration}</p>
</div>`;
}
