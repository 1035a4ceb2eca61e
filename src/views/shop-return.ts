import type { Locale } from "../config/config.ts";
import { format } from "../i18n/locale.ts";
import { shopText } from "../i18n/shop-text.ts";
import { html, type SafeHtml } from "./html.ts";

/**
 * The way back to the shop the person came from (src/oidc/shop-return.ts finds it): its registered
 * name and client URI. A block of its own in the layout, between the header and the page.
 */
export type ShopReturn = { name: string; uri: string };

export function shopReturnBlock(locale: Locale, shop: ShopReturn | null | undefined): SafeHtml | null {
  if (!shop) return null;
  const t = shopText(locale);
  return html`<nav class="shop-return" aria-label="${t.navLabel}"><a href="${shop.uri}">${format(t.back, { client: shop.name })}</a></nav>`;
}
