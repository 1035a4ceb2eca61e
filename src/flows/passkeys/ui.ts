import type { Locale } from "../../config/config.ts";
import { passkeyText } from "../../i18n/passkey-text.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { webauthnScriptPath } from "./browser-script.ts";

/**
 * The passkey buttons other pages carry (sign-in, the two-step challenge, adding a passkey). They
 * are `hidden` until public/passkeys.js finds WebAuthn in the browser; the note that passkeys need
 * JavaScript shows until then. The scripts are files from this origin (the CSP has no inline script).
 */
export function passkeyScripts(): SafeHtml {
  return html`<script src="${webauthnScriptPath}" defer></script><script src="/assets/passkeys.js" defer></script>`;
}

function messages(locale: Locale): SafeHtml {
  const t = passkeyText(locale);
  return html` data-cancelled="${t.cancelled}" data-failed="${t.failed}" data-unsupported="${t.unsupported}"`;
}

function status(id: string): SafeHtml {
  return html`<p class="error" id="${id}" role="alert" hidden></p>`;
}

/**
 * The passkeys page and the page after a passkey sign-in tell the browser's passkey provider the
 * account's current passkeys and name (WebAuthn's Signal API, public/passkeys.js).
 */
export function passkeySignalsMarker(): SafeHtml {
  return html`<div data-passkey-signals hidden></div>`;
}

/**
 * Right after a password sign-in: the script asks the password manager to create a passkey too
 * (conditional create), where the browser can; this notice shows only when one was created.
 */
export function passkeyConditionalCreateBlock(locale: Locale, passkeysPath: string): SafeHtml {
  const t = passkeyText(locale);
  return html`<p class="notice" role="status" data-passkey-conditional-create hidden>${t.conditionalCreated} <a href="${passkeysPath}">${t.conditionalManage}</a></p>
${passkeyScripts()}`;
}

/** "Sign in with a passkey" under the sign-in form; the identifier field also offers passkeys (autofill). */
export function passkeySignInBlock(locale: Locale, returnTo: string): SafeHtml {
  const t = passkeyText(locale);
  return html`<div class="passkey" data-passkey-block hidden>
  <p class="hint">${t.or}</p>
  <button type="button" class="secondary wide" data-passkey-sign-in data-return-to="${returnTo}" data-status="passkey-status"${messages(locale)}>${t.signInWithPasskey}</button>
  ${status("passkey-status")}
</div>
${passkeyScripts()}`;
}

/** "Use a passkey" on the two-step challenge page, for an account that has one. */
export function passkeySecondStepBlock(locale: Locale, challengeId: string, returnTo: string): SafeHtml {
  const t = passkeyText(locale);
  return html`<div class="passkey" data-passkey-block hidden>
  <p class="hint">${t.secondStepHint}</p>
  <button type="button" class="secondary wide" data-passkey-second-step data-challenge-id="${challengeId}" data-return-to="${returnTo}" data-trust="trust_device" data-status="passkey-status"${messages(locale)}>${t.useForSecondStep}</button>
  ${status("passkey-status")}
</div>
${passkeyScripts()}`;
}

/** The "Create a passkey" button of the add page, with the optional name field it reads. */
export function passkeyRegisterBlock(locale: Locale, doneUrl: string): SafeHtml {
  const t = passkeyText(locale);
  return html`<p class="note" data-passkey-nojs>${t.needsJavaScript}</p>
<div data-passkey-block hidden>
  <div class="field">
    <label for="passkey-name">${t.nameLabel}</label>
    <p class="hint" id="passkey-name-hint">${t.nameHint}</p>
    <input id="passkey-name" name="name" type="text" maxlength="64" autocomplete="off" aria-describedby="passkey-name-hint">
  </div>
  <button type="button" class="wide" data-passkey-register data-name="passkey-name" data-done-url="${doneUrl}" data-status="passkey-status"${messages(locale)}>${t.create}</button>
  ${status("passkey-status")}
</div>
${passkeyScripts()}`;
}

/**
 * "Use a passkey instead" on the reauthentication page (any of the account's passkeys) or "Use a
 * passkey" on the step-up page (`stepUp`: a passkey that did not verify the person is not enough
 * there, and the button says so instead of going back). The note shows until the script runs.
 */
export function passkeyReauthenticationBlock(
  locale: Locale,
  returnTo: string,
  purpose: "reauthentication" | "step_up",
): SafeHtml {
  const t = passkeyText(locale);
  const stepUp = purpose === "step_up";
  return html`<div class="links">
<p class="note" data-passkey-nojs>${stepUp ? t.stepUpNeedsJavaScript : t.reauthenticateNeedsJavaScript}</p>
<div class="passkey" data-passkey-block hidden>
  <p class="hint">${stepUp ? t.stepUpHint : t.reauthenticateHint}</p>
  <button type="button" class="secondary wide" data-passkey-reauthenticate data-return-to="${returnTo}"${stepUp ? html` data-step-up="1" data-not-verified="${t.notVerified}"` : null} data-status="passkey-status"${messages(locale)}>${stepUp ? t.stepUp : t.reauthenticate}</button>
  ${status("passkey-status")}
</div>
</div>
${passkeyScripts()}`;
}
