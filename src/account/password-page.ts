import type { FastifyInstance, FastifyReply } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import type { FlowFailure } from "../flows/flow-result.ts";
import { type ErrorCode, errorMessage, errorStatuses } from "../http/errors.ts";
import {
  checkFormToken,
  formField,
  type PageContext,
  sendFormExpired,
  sendPage,
  signedInPage,
} from "../http/pages.ts";
import { renewCookieSession, requestMeta } from "../http/request-context.ts";
import { formText } from "../i18n/form-text.ts";
import { format } from "../i18n/locale.ts";
import { pageText } from "../i18n/page-text.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../views/forms.ts";
import { html } from "../views/html.ts";
import { changePassword } from "./password-change.ts";

const path = "/account/security/password";

type PasswordForm = {
  errors: FieldErrors;
  general?: string;
  /** The general error's code, for the summary's heading (a lockout is not a typing slip). */
  problem?: ErrorCode;
  /** The new password typed back, when only the current one was refused: nothing to type twice. */
  newPassword?: string;
};

function renderChangePassword(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  form: PasswordForm & { minLength: number },
): FastifyReply {
  const text = pageText(locale).changePassword;
  const body = html`<div class="card">
<h1>${text.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${text.intro}</p>
<form method="post" action="${path}" novalidate>
  ${csrfField(page.csrfToken)}
  ${field({ name: "currentPassword", label: text.currentPassword, type: "password", locale, autocomplete: "current-password", required: true, autofocus: true, maxlength: 4096, errors: form.errors })}
  ${field({ name: "newPassword", label: text.newPassword, hint: format(text.newPasswordHint, { min: form.minLength }), type: "password", locale, keepValue: true, ...(form.newPassword ? { value: form.newPassword } : {}), autocomplete: "new-password", required: true, maxlength: 4096, errors: form.errors, strength: { locale, userInputs: [page.auth.account.name, page.auth.account.email] } })}
  <button type="submit" class="wide">${text.submit}</button>
</form>
<div class="links"><p><a href="/password-reset">${text.forgot}</a></p></div>
</div>
<p><a href="/account/security">${text.back}</a></p>`;
  return sendPage(reply, status, {
    locale,
    title: text.title,
    path,
    body,
    signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
  });
}

/** Where each failure is shown: a wrong current password beside its field, in this page's words. */
function passwordForm(locale: Locale, f: FlowFailure, newPassword: string): PasswordForm {
  if (f.code === "invalid_credentials") {
    return { errors: { currentPassword: pageText(locale).changePassword.wrongCurrent }, newPassword };
  }
  const message = errorMessage(f.code, locale, f);
  return f.field ? { errors: { [f.field]: message } } : { errors: {}, general: message, problem: f.code };
}

/** Empty fields are asked for before anything is checked: an empty current password is no guess. */
function emptyFields(locale: Locale, currentPassword: string, newPassword: string): PasswordForm | undefined {
  const t = formText(locale).missing;
  const errors: FieldErrors = {
    ...(currentPassword === "" ? { currentPassword: t.currentPassword } : {}),
    ...(newPassword === "" ? { newPassword: t.newPassword } : {}),
  };
  return Object.keys(errors).length > 0 ? { errors, newPassword } : undefined;
}

/** Login & security -> Password: the current password, then the new one; other devices sign out. */
export function registerPasswordChangePage(app: FastifyInstance, deps: Deps): void {
  const minLength = deps.config.limits.passwordMinLength;

  app.get(path, async (request, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    // No password yet (an account made by LINE, Google…): there is none to change, one to add.
    if (!page.auth.account.password_hash)
      return reply.redirect("/account/security/sign-in-methods/password", 303);
    return renderChangePassword(reply, request.locale, page, 200, { errors: {}, minLength });
  });

  app.post(path, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, path);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const currentPassword = formField(request, "currentPassword").slice(0, 4096);
    const newPassword = formField(request, "newPassword").slice(0, 4096);
    const empty = emptyFields(locale, currentPassword, newPassword);
    if (empty) return renderChangePassword(reply, locale, page, 400, { ...empty, minLength });
    const result = await changePassword(
      deps,
      page.auth,
      { currentPassword, newPassword },
      requestMeta(request),
    );
    if (result.ok) {
      await renewCookieSession(request, reply, deps);
      return reply.redirect("/account/security?done=password", 303);
    }
    if (result.retryAfterSeconds !== undefined) reply.header("retry-after", String(result.retryAfterSeconds));
    return renderChangePassword(reply, locale, page, errorStatuses[result.code], {
      ...passwordForm(locale, result, newPassword),
      minLength,
    });
  });
}
