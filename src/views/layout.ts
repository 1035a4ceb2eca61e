import type { Brand } from "../config/brand-config.ts";
import type { Locale } from "../config/config.ts";
import { type PageText, pageText } from "../i18n/page-text.ts";
import { html, type SafeHtml } from "./html.ts";
import { type ShopReturn, shopReturnBlock } from "./shop-return.ts";

export type LayoutOptions = {
  locale: Locale;
  title: string;
  body: SafeHtml;
  /** The path the language switch returns to. */
  path: string;
  signedIn?: { name: string; csrfToken: string };
  /** A notice at the top of the page (role=status), e.g. "You have signed out." */
  notice?: string;
  /** The shop the person came from (OpenID Connect): 「{client}に戻る」 below the header; null: none. */
  shopReturn?: ShopReturn | null | undefined;
};

/**
 * Every page's frame: language, skip link, header with the shop's name or logo and the language
 * switch, main, footer. The page names the shop (its brand), never the software behind it.
 */
export function renderLayout(options: LayoutOptions, brand: Brand): string {
  const text: PageText = pageText(options.locale);
  const switchHref = `/locale/${text.switchLanguageLocale}?return_to=${encodeURIComponent(options.path)}`;
  return html`<!doctype html>
<html lang="${options.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} | ${brand.name}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/mamori.css">
<link rel="stylesheet" href="/assets/mamori-security.css">
<link rel="stylesheet" href="/brand.css">
<script src="/assets/mamori.js" defer></script>
</head>
<body>
<a class="skip" href="#main">${text.skipToContent}</a>
<header class="top">
  <a class="brand" href="/">${brand.logoUrl ? html`<img src="${brand.logoUrl}" alt="${brand.name}" height="32">` : brand.name}</a>
  <nav aria-label="${options.locale === "ja" ? "メニュー" : "Menu"}">
    ${options.signedIn ? html`<a href="/account">${options.signedIn.name}</a>` : null}
    <a href="${switchHref}" hreflang="${text.switchLanguageLocale}" lang="${text.switchLanguageLocale}">${text.switchLanguage}</a>
    ${
      options.signedIn
        ? html`<form method="post" action="/sign-out" class="inline"><input type="hidden" name="_csrf" value="${options.signedIn.csrfToken}"><button type="submit" class="link">${text.account.signOut}</button></form>`
        : null
    }
  </nav>
</header>
${shopReturnBlock(options.locale, options.shopReturn)}
<main id="main" tabindex="-1">
${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : null}
${options.body}
</main>
<footer class="bottom"><p>© ${brand.name}</p></footer>
</body>
</html>`.value;
}
