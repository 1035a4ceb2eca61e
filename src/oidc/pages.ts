import type { Locale } from "../config/config.ts";
import { format } from "../i18n/locale.ts";
import { oidcText } from "../i18n/oidc-text.ts";
import { csrfField } from "../views/forms.ts";
import { html } from "../views/html.ts";
import type { LayoutOptions } from "../views/layout.ts";
import { grantDescriptionHtml } from "./grant-description.ts";

/**
 * The pages of "Sign in with Mamori", in Mamori's own layout (ja/en, no inline script or style):
 * consent, "this shop requires two-step verification", sign out from a shop, signed out, and the
 * provider's error page. Each returns the layout's options; the caller sends it (Fastify) or puts
 * it in the provider's answer (oidc-provider's Koa context).
 */
export const interactionPath = (uid: string): string => `/oidc/interaction/${encodeURIComponent(uid)}`;

export type ConsentView = {
  locale: Locale;
  uid: string;
  csrfToken: string;
  clientName: string;
  email: string;
  scopes: readonly string[];
};

export function consentPage(view: ConsentView): LayoutOptions {
  const t = oidcText(view.locale).consent;
  const title = format(t.title, { client: view.clientName });
  const action = interactionPath(view.uid);
  const body = html`<div class="card">
<h1>${title}</h1>
<p>${format(t.intro, { client: view.clientName })}</p>
${grantDescriptionHtml(view.locale, view.scopes)}
<p class="hint">${format(t.signedInAs, { email: view.email })}</p>
<form method="post" action="${action}/consent">
  ${csrfField(view.csrfToken)}
  <button type="submit" class="wide">${t.allow}</button>
</form>
<form method="post" action="${action}/abort" class="links">
  ${csrfField(view.csrfToken)}
  <button type="submit" class="secondary">${t.deny}</button>
</form>
</div>`;
  return { locale: view.locale, title, path: action, body };
}

export type TwoStepRequiredView = {
  locale: Locale;
  uid: string;
  csrfToken: string;
  clientName: string;
  /** The shop's own name (its brand), whose account signs in to the client. */
  shop: string;
};

export function twoStepRequiredPage(view: TwoStepRequiredView): LayoutOptions {
  const t = oidcText(view.locale).twoStepRequired;
  const action = interactionPath(view.uid);
  const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.intro, { client: view.clientName })}</p>
<a class="button wide" href="/account/security/two-step">${t.setUp}</a>
<p class="hint">${format(t.afterSetUp, { client: view.clientName, shop: view.shop })}</p>
<form method="post" action="${action}/abort" class="links">
  ${csrfField(view.csrfToken)}
  <button type="submit" class="secondary">${format(t.cancel, { client: view.clientName })}</button>
</form>
</div>`;
  return { locale: view.locale, title: t.title, path: action, body };
}

export type SignOutView = {
  locale: Locale;
  clientName: string | undefined;
  action: string;
  xsrf: string;
  /** The shop's own name (its brand): "sign out of {shop} too". */
  shop: string;
};

export function signOutPage(view: SignOutView): LayoutOptions {
  const t = oidcText(view.locale).signOut;
  const intro = view.clientName ? format(t.intro, { client: view.clientName }) : t.introNoClient;
  const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${intro}</p>
<form method="post" action="${view.action}">
  <input type="hidden" name="xsrf" value="${view.xsrf}">
  <button type="submit" name="logout" value="yes" class="wide">${format(t.everywhere, { shop: view.shop })}</button>
</form>
<form method="post" action="${view.action}" class="links">
  <input type="hidden" name="xsrf" value="${view.xsrf}">
  <button type="submit" class="secondary">${t.onlyShop}</button>
</form>
</div>`;
  return { locale: view.locale, title: t.title, path: "/", body };
}

/** "You have signed out", with the way back: the shop's page after a shop's logout, else Mamori's top. */
export function signedOutPage(locale: Locale, returnTo = "/"): LayoutOptions {
  const t = oidcText(locale).signOut;
  const body = html`<div class="card">
<h1>${t.done}</h1>
<p><a href="${returnTo}">${t.back}</a></p>
</div>`;
  return { locale, title: t.done, path: "/", body };
}

export function providerErrorPage(locale: Locale, code: string): LayoutOptions {
  const t = oidcText(locale).error;
  const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${t.intro}</p>
<p class="hint">${format(t.code, { code })}</p>
</div>`;
  return { locale, title: t.title, path: "/", body };
}

/** A same-site step between a form and the shop: see `continueTo` in src/oidc/routes.ts. */
export function continuingPage(locale: Locale, clientName: string, target: string): LayoutOptions {
  const t = oidcText(locale).continuing;
  const title = format(t.title, { client: clientName });
  const body = html`<div class="card">
<h1>${title}</h1>
<p><a class="button wide" href="${target}">${t.link}</a></p>
</div>`;
  return { locale, title, path: "/", body };
}
