import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { listPasskeys } from "../../factors/passkey/passkeys.ts";
import { listActiveMethods, type MethodRow } from "../../factors/two-step/methods.ts";
import { federationReauthButtons } from "../../federation/methods-page.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import {
  checkFormToken,
  formField,
  type PageContext,
  safeReturnPath,
  sendFormExpired,
  signedInPage,
} from "../../http/pages.ts";
import { renewCookieSession, requestMeta } from "../../http/request-context.ts";
import { format } from "../../i18n/locale.ts";
import { twoStepText } from "../../i18n/two-step-text.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../../views/forms.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { maskedPhone } from "../../views/phone-number.ts";
import type { FlowFailure } from "../flow-result.ts";
import { passkeyReauthenticationBlock } from "../passkeys/ui.ts";
import {
  type FormState,
  methodName,
  reauthenticatePath,
  sendSettingsPage,
  stepUpPath,
  twoStepPath,
  withRetryAfter,
} from "../two-step-settings/pages-shared.ts";
import { reauthenticateWithPassword } from "./reauthentication.ts";
import { completeStepUp, startStepUp } from "./step-up.ts";

/**
 * "Enter your password" (a sign-in older than 10 minutes) and "Verify it's you" (a code from a
 * two-step method), each returning to the page that sent the person here (`return_to`, a path on
 * this site only). Both offer one of the account's passkeys instead (with JavaScript; see
 * ./passkey.ts): the password page for any passkey, the step-up page for one that verifies the person.
 */
type ReturnQuery = { return_to?: string; method?: string; sent?: string };

const settingsHome = "/account/security";

function returnField(returnTo: string): SafeHtml {
  return html`<input type="hidden" name="return_to" value="${returnTo}">`;
}

function renderReauthenticate(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  view: { returnTo: string; form: FormState; passkey: boolean; federation?: SafeHtml | null },
): FastifyReply {
  const t = twoStepText(locale).reauth;
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, view.form.errors, view.form.general, undefined, view.form.problem)}
<p>${t.intro}</p>
<p class="hint">${format(t.signedInAs, { email: page.auth.account.email })}</p>
<form method="post" action="${reauthenticatePath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${returnField(view.returnTo)}
  ${field({ name: "password", label: t.password, type: "password", locale, autocomplete: "current-password", required: true, autofocus: true, maxlength: 4096, errors: view.form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>
${view.passkey ? passkeyReauthenticationBlock(locale, view.returnTo, "reauthentication") : null}
${view.federation ?? null}
<div class="links">
  <p><a href="/password-reset">${t.forgot}</a></p>
  <p><a href="${settingsHome}">${t.cancel}</a></p>
</div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, {
    title: t.title,
    path: `${reauthenticatePath}?return_to=${encodeURIComponent(view.returnTo)}`,
    body,
  });
}

type StepUpView = {
  returnTo: string;
  method: MethodRow;
  others: MethodRow[];
  /** A phone's code was sent (or the person asks to type one): show the code field. */
  codeSent: boolean;
  form: FormState;
  /** The account has a passkey: offer it (one that verifies the person is a step-up too). */
  passkey: boolean;
  /** The recovery code's form was sent and refused: it is shown open, with the reason. */
  recoveryErrors?: FieldErrors;
};

/** The `method_id` of the recovery code's form: no method of the account has it. */
const recoveryChoice = "recovery_code";

function stepUpUrl(returnTo: string, method: MethodRow, sent = false): string {
  const query = new URLSearchParams({ return_to: returnTo, method: method.id });
  if (sent) query.set("sent", "1");
  return `${stepUpPath}?${query.toString()}`;
}

function renderStepUp(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  view: StepUpView,
): FastifyReply {
  const t = twoStepText(locale).stepUp;
  const { method } = view;
  const phone = method.phone ? maskedPhone(method.phone) : "";
  const isApp = method.method === "totp";
  const sendForm = html`<form method="post" action="${stepUpPath}/send"${view.codeSent ? html` class="links"` : null}>
  ${csrfField(page.csrfToken)}
  ${returnField(view.returnTo)}
  <input type="hidden" name="method_id" value="${method.id}">
  <button type="submit" class="${view.codeSent ? "secondary" : "wide"}">${view.codeSent ? twoStepText(locale).phoneCode.resend : method.method === "voice" ? t.call : t.send}</button>
</form>`;
  const codeForm = html`<form method="post" action="${stepUpPath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${returnField(view.returnTo)}
  <input type="hidden" name="method_id" value="${method.id}">
  ${field({ name: "code", label: t.code, hint: t.codeHint, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 12, errors: view.form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>`;
  const intro = isApp
    ? t.app
    : view.codeSent
      ? format(
          method.method === "sms"
            ? twoStepText(locale).phoneCode.sentSms
            : twoStepText(locale).phoneCode.sentVoice,
          { phone },
        )
      : format(method.method === "sms" ? t.willSendSms : t.willCall, { phone });
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, { ...view.form.errors, ...view.recoveryErrors }, view.form.general)}
<p>${t.intro}</p>
<p>${intro}</p>
${isApp || view.codeSent ? codeForm : null}
${isApp ? null : sendForm}
${view.passkey ? passkeyReauthenticationBlock(locale, view.returnTo, "step_up") : null}
${
  view.others.length > 0
    ? html`<div class="links"><h2>${t.other}</h2><ul class="plain">${view.others.map(
        (m) =>
          html`<li><a href="${stepUpUrl(view.returnTo, m)}">${format(t.use, { method: methodName(locale, m) })}</a></li>`,
      )}</ul></div>`
    : null
}
<details class="links"${view.recoveryErrors ? html` open` : null}><summary>${t.recovery}</summary>
<p>${t.recoveryIntro}</p>
<form method="post" action="${stepUpPath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${returnField(view.returnTo)}
  <input type="hidden" name="method_id" value="${recoveryChoice}">
  ${field({ name: "recovery_code", label: t.recoveryCode, hint: t.recoveryHint, autocomplete: "off", required: true, maxlength: 20, errors: view.recoveryErrors ?? {} })}
  <button type="submit" class="secondary">${t.recoverySubmit}</button>
</form>
</details>
<div class="links"><p><a href="${twoStepPath}">${t.cancel}</a></p></div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, {
    title: t.title,
    path: stepUpUrl(view.returnTo, method, view.codeSent),
    body,
  });
}

export function registerReauthenticationPages(app: FastifyInstance, deps: Deps): void {
  async function hasPasskey(page: PageContext): Promise<boolean> {
    return (await listPasskeys(deps.db, page.auth.account.id)).length > 0;
  }

  app.get(reauthenticatePath, async (request: FastifyRequest<{ Querystring: ReturnQuery }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const returnTo = safeReturnPath(request.query.return_to, settingsHome);
    return renderReauthenticate(reply, request.locale, page, 200, {
      returnTo,
      form: { errors: {} },
      passkey: await hasPasskey(page),
      federation: await federationReauthButtons(deps, page, request.locale, returnTo),
    });
  });

  app.post(reauthenticatePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, reauthenticatePath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const returnTo = safeReturnPath(formField(request, "return_to"), settingsHome);
    const password = formField(request, "password").slice(0, 4096);
    // Nothing typed is a slip: no count against the account, no hashing.
    if (password === "") {
      return renderReauthenticate(reply, locale, page, 400, {
        returnTo,
        form: { errors: { password: twoStepText(locale).disable.passwordMissing } },
        passkey: await hasPasskey(page),
      });
    }
    const result = await reauthenticateWithPassword(deps, page.auth, password, requestMeta(request));
    if (result.ok) {
      await renewCookieSession(request, reply, deps);
      return reply.redirect(returnTo, 303);
    }
    const form: FormState =
      result.code === "invalid_credentials"
        ? { errors: { password: twoStepText(locale).reauth.wrong } }
        : { errors: {}, general: errorMessage(result.code, locale, result) };
    return renderReauthenticate(withRetryAfter(reply, result), locale, page, errorStatuses[result.code], {
      returnTo,
      form,
      passkey: await hasPasskey(page),
    });
  });

  /** The method to step up with (the one asked for, else the primary) and the others. */
  async function stepUpMethods(
    page: PageContext,
    methodId: string | undefined,
  ): Promise<{ method: MethodRow; others: MethodRow[] } | undefined> {
    const methods = await listActiveMethods(deps.db, page.auth.account.id);
    const method = methods.find((m) => m.id === methodId) ?? methods[0];
    return method ? { method, others: methods.filter((m) => m.id !== method.id) } : undefined;
  }

  app.get(stepUpPath, async (request: FastifyRequest<{ Querystring: ReturnQuery }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const returnTo = safeReturnPath(request.query.return_to, twoStepPath);
    const chosen = page.auth.account.two_step_enabled_at
      ? await stepUpMethods(page, request.query.method)
      : undefined;
    // Two-step off: there is nothing to step up with, and nothing that needs it.
    if (!chosen) return reply.redirect(returnTo, 303);
    return renderStepUp(reply, request.locale, page, 200, {
      returnTo,
      ...chosen,
      codeSent: request.query.sent === "1",
      form: { errors: {} },
      passkey: await hasPasskey(page),
    });
  });

  app.post(`${stepUpPath}/send`, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, stepUpPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const returnTo = safeReturnPath(formField(request, "return_to"), twoStepPath);
    const chosen = await stepUpMethods(page, formField(request, "method_id").slice(0, 64));
    if (!chosen || !page.auth.account.two_step_enabled_at) return reply.redirect(returnTo, 303);
    const sent = await startStepUp(deps, page.auth, chosen.method.id, requestMeta(request));
    if (sent.ok) return reply.redirect(stepUpUrl(returnTo, chosen.method, true), 303);
    const wait = format(twoStepText(locale).phoneCode.resendWait, {
      minutes: Math.max(1, Math.ceil((sent.retryAfterSeconds ?? 60) / 60)),
    });
    return renderStepUp(withRetryAfter(reply, sent), locale, page, errorStatuses[sent.code], {
      returnTo,
      ...chosen,
      codeSent: true,
      form: {
        errors: {},
        general: sent.code === "too_many_attempts" ? wait : errorMessage(sent.code, locale, sent),
      },
      passkey: await hasPasskey(page),
    });
  });

  app.post(stepUpPath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, stepUpPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const returnTo = safeReturnPath(formField(request, "return_to"), twoStepPath);
    const methodId = formField(request, "method_id").slice(0, 64);
    // The phone and the app gone, a recovery code proves it's the owner as well (once).
    const recovery = methodId === recoveryChoice;
    const chosen = await stepUpMethods(page, recovery ? undefined : methodId);
    if (!chosen || !page.auth.account.two_step_enabled_at) return reply.redirect(returnTo, 303);
    const answer = recovery
      ? { method: recoveryChoice, code: formField(request, "recovery_code").slice(0, 32) }
      : {
          method: chosen.method.method,
          methodId: chosen.method.id,
          code: formField(request, "code").slice(0, 32),
        };
    const result = await completeStepUp(deps, page.auth, answer, requestMeta(request));
    if (result.ok) {
      await renewCookieSession(request, reply, deps);
      return reply.redirect(returnTo, 303);
    }
    const failed = stepUpFailure(locale, result, recovery);
    return renderStepUp(withRetryAfter(reply, result), locale, page, errorStatuses[result.code], {
      returnTo,
      ...chosen,
      codeSent: !recovery,
      form: recovery ? { errors: {}, ...(failed.general ? { general: failed.general } : {}) } : failed,
      ...(recovery ? { recoveryErrors: failed.errors } : {}),
      passkey: await hasPasskey(page),
    });
  });
}

function stepUpFailure(locale: Locale, f: FlowFailure, recovery: boolean): FormState {
  const t = twoStepText(locale).stepUp;
  if (f.code === "invalid_code")
    return { errors: recovery ? { recovery_code: t.wrongRecovery } : { code: t.wrongCode } };
  return { errors: {}, general: errorMessage(f.code, locale, f) };
}
