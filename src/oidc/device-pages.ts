import type { Locale } from "../config/config.ts";
import { deviceText } from "../i18n/device-text.ts";
import { format } from "../i18n/locale.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../views/forms.ts";
import { html } from "../views/html.ts";
import type { LayoutOptions } from "../views/layout.ts";
import { grantDescriptionHtml } from "./grant-description.ts";

/**
 * The device sign-in pages (RFC 8628's verification URI, /oidc/device), in the house layout: plain
 * forms with the form token, no script. Enter the code, confirm which app on which device asks
 * and what it gets, then "logged in" or "not allowed".
 */
export const devicePath = "/oidc/device";

export type EnterCodeView = {
  locale: Locale;
  csrfToken: string;
  email: string;
  /** What the person typed (or the code in verification_uri_complete), shown again. */
  value?: string;
  error?: string;
};

export function enterCodePage(view: EnterCodeView): LayoutOptions {
  const t = deviceText(view.locale).enter;
  const errors: FieldErrors = view.error ? { user_code: view.error } : {};
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(view.locale, errors)}
<p>${t.intro}</p>
<form method="post" action="${devicePath}" novalidate>
  ${csrfField(view.csrfToken)}
  ${field({
    name: "user_code",
    label: t.label,
    hint: t.hint,
    ...(view.value === undefined ? {} : { value: view.value }),
    autocomplete: "one-time-code",
    required: true,
    autofocus: true,
    maxlength: 40,
    errors,
  })}
  <button type="submit" class="wide">${t.next}</button>
</form>
<p class="hint">${format(t.signedInAs, { email: view.email })}</p>
</div>`;
  return { locale: view.locale, title: t.title, path: devicePath, body };
}

export type ConfirmView = {
  locale: Locale;
  csrfToken: string;
  clientName: string;
  email: string;
  userCode: string;
  scopes: readonly string[];
  device: { ip?: string; ua?: string } | undefined;
};

export function confirmPage(view: ConfirmView): LayoutOptions {
  const text = deviceText(view.locale);
  const t = text.confirm;
  const title = format(t.title, { client: view.clientName });
  const body = html`<div class="card">
<h1>${title}</h1>
<p>${format(t.intro, { client: view.clientName })}</p>
<p>${t.checkCode}</p>
<p class="user-code"><strong>${view.userCode}</strong></p>
<h2>${t.device}</h2>
<p>${view.device?.ua ?? t.deviceUnknown}</p>
${view.device?.ip ? html`<p class="hint">${format(t.address, { ip: view.device.ip })}</p>` : null}
<h2>${format(t.asks, { client: view.clientName })}</h2>
${grantDescriptionHtml(view.locale, view.scopes)}
<p class="hint">${format(t.signedInAs, { email: view.email })}</p>
<p class="hint">${t.warning}</p>
<form method="post" action="${devicePath}/confirm">
  ${csrfField(view.csrfToken)}
  <input type="hidden" name="user_code" value="${view.userCode}">
  <button type="submit" name="decision" value="allow" class="wide">${t.allow}</button>
</form>
<form method="post" action="${devicePath}/confirm" class="links">
  ${csrfField(view.csrfToken)}
  <input type="hidden" name="user_code" value="${view.userCode}">
  <button type="submit" name="decision" value="deny" class="secondary">${t.deny}</button>
</form>
</div>`;
  return { locale: view.locale, title, path: devicePath, body };
}

export function deviceTwoStepRequiredPage(locale: Locale, clientName: string): LayoutOptions {
  const t = deviceText(locale).twoStepRequired;
  const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.intro, { client: clientName })}</p>
<a class="button wide" href="/account/security/two-step">${t.setUp}</a>
</div>`;
  return { locale, title: t.title, path: devicePath, body };
}

export function deviceAnsweredPage(locale: Locale, clientName: string, allowed: boolean): LayoutOptions {
  const t = allowed ? deviceText(locale).done : deviceText(locale).denied;
  const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.intro, { client: clientName })}</p>
</div>`;
  return { locale, title: t.title, path: devicePath, body };
}
