import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { TwoStepMethodKind } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { findMethod, listActiveMethods, type MethodRow } from "../../factors/two-step/methods.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import { checkFormToken, formField, sendFormExpired } from "../../http/pages.ts";
import { renewCookieSession } from "../../http/request-context.ts";
import { format } from "../../i18n/locale.ts";
import { twoStepText } from "../../i18n/two-step-text.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../../views/forms.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { maskedPhone } from "../../views/phone-number.ts";
import type { FlowFailure } from "../flow-result.ts";
import {
  type Enrollment,
  resendEnrollmentCode,
  showAppEnrollment,
  startEnrollment,
  verifyEnrollment,
} from "./enrollment.ts";
import {
  type FormState,
  formState,
  guardRedirect,
  methodName,
  methodPath,
  minutesToWait,
  pageGuard,
  type SettingsPage,
  sendSettingsPage,
  settingsPage,
  twoStepPath,
  withRetryAfter,
} from "./pages-shared.ts";

/**
 * Adding a two-step method as plain forms: choose SMS, voice or the app (primary, or a backup) ->
 * the app's QR code and key, or a code sent to the phone -> the code -> two-step turned on (a
 * primary, see pages.ts) or back to the settings (a backup, a changed primary).
 */
type Role = "primary" | "backup";

const kinds: readonly TwoStepMethodKind[] = ["totp", "sms", "voice"];

function isKind(value: string): value is TwoStepMethodKind {
  return (kinds as readonly string[]).includes(value);
}

function chooserPath(role: Role): string {
  return role === "primary" ? `${twoStepPath}/setup` : `${twoStepPath}/backup`;
}

type ChooserForm = FormState & { method: string; phone: string };

function renderChooser(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  status: number,
  view: { role: Role; primary: MethodRow | undefined; form: ChooserForm },
): FastifyReply {
  const t = twoStepText(locale).choose;
  const { role, form } = view;
  const title =
    role === "backup"
      ? t.backupTitle
      : page.auth.account.two_step_enabled_at
        ? t.changeTitle
        : t.primaryTitle;
  const intro =
    role === "backup" && view.primary
      ? format(t.backupIntro, { method: methodName(locale, view.primary) })
      : t.primaryIntro;
  const methodError = form.errors.method;
  const option = (kind: TwoStepMethodKind, label: string, hint: string): SafeHtml =>
    html`<div class="checkbox"><input type="radio" id="method-${kind}" name="method" value="${kind}"${form.method === kind ? html` checked` : null} aria-describedby="method-${kind}-hint"><label for="method-${kind}">${label}<br><span class="hint" id="method-${kind}-hint">${hint}</span></label></div>`;
  const body = html`<div class="card">
<h1>${title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${intro}</p>
<form method="post" action="${chooserPath(role)}" novalidate>
  ${csrfField(page.csrfToken)}
  <fieldset class="choices${methodError ? " has-error" : ""}" id="method">
    <legend>${t.legend}</legend>
    ${methodError ? html`<p class="error">${methodError}</p>` : null}
    ${option("totp", t.totp, t.totpHint)}
    ${option("sms", t.sms, t.smsHint)}
    ${option("voice", t.voice, t.voiceHint)}
    <p class="note">${t.smsRisk}</p>
  </fieldset>
  ${field({ name: "phone", label: t.phone, hint: t.phoneHint, type: "tel", value: form.phone, autocomplete: "tel", inputmode: "tel", maxlength: 40, errors: form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>
<div class="links"><p><a href="${twoStepPath}">${t.cancel}</a></p></div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, { title, path: chooserPath(role), body });
}

/**
 * The app's set-up: the QR code the server drew, the key for typing (with a copy button once
 * mamori.js runs), an otpauth:// link for an app on this same phone, and the first code. Shown
 * again after a wrong code with the error and the same key; start-over is the only way to a new one.
 */
function renderAppSetup(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  status: number,
  view: { enrollment: Enrollment; role: Role; form: FormState },
): FastifyReply {
  const t = twoStepText(locale).app;
  const { enrollment, form } = view;
  const key = enrollment.secret ?? "";
  // An <img> with a data: URL (img-src 'self' data:), so no markup from outside this template enters
  // the page: the SVG cannot carry script or style into it.
  const qrSource = `data:image/svg+xml;base64,${Buffer.from(enrollment.qrSvg ?? "").toString("base64")}`;
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general)}
<ol class="steps">
  <li>${t.install}</li>
  <li>${t.scan}
    <div class="qr"><img src="${qrSource}" alt="${t.qrLabel}" width="200" height="200"></div>
    <p class="open-in-app"><a href="${enrollment.otpauthUri ?? ""}">${t.openInApp}</a><br><span class="hint">${t.openInAppHint}</span></p>
    <p class="hint">${t.manual}</p>
    <p class="key"><span class="key-label">${t.key}</span> <code id="totp-key">${key}</code></p>
    <p class="copy-key"><button type="button" class="secondary" data-copy="${key.replace(/ /g, "")}" data-copied="${t.copied}" data-copy-status="totp-key-copied" hidden>${t.copy}</button> <span id="totp-key-copied" class="hint" role="status" aria-live="polite"></span></p>
  </li>
  <li>${t.enter}
    <form method="post" action="${methodPath(enrollment.id)}" novalidate>
      ${csrfField(page.csrfToken)}
      ${field({ name: "code", label: t.code, hint: t.codeHint, autocomplete: "one-time-code", inputmode: "numeric", required: true, maxlength: 12, errors: form.errors })}
      <button type="submit" class="wide">${t.submit}</button>
    </form>
  </li>
</ol>
<form method="post" action="${chooserPath(view.role)}" class="links">
  ${csrfField(page.csrfToken)}<input type="hidden" name="method" value="totp"><input type="hidden" name="restart" value="1">
  <p class="hint">${t.restartHint}</p>
  <button type="submit" class="secondary">${t.restart}</button>
</form>
</div>
<p><a href="${twoStepPath}">${twoStepText(locale).choose.cancel}</a></p>`;
  return sendSettingsPage(reply, page, locale, status, {
    title: t.title,
    path: methodPath(enrollment.id),
    body,
  });
}

/** The code page of a phone being set up (an app's set-up is renderAppSetup, code and all). */
function renderMethodCode(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  status: number,
  view: { method: MethodRow; form: FormState; notice?: string },
): FastifyReply {
  const t = twoStepText(locale).phoneCode;
  const { method, form } = view;
  const action = methodPath(method.id);
  const role: Role = method.role;
  const phone = method.phone ? maskedPhone(method.phone) : "";
  const intro = format(method.method === "sms" ? t.sentSms : t.sentVoice, { phone });
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${intro}</p>
<form method="post" action="${action}" novalidate>
  ${csrfField(page.csrfToken)}
  ${field({ name: "code", label: t.code, hint: t.codeHint, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 12, errors: form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>
<form method="post" action="${action}/resend" class="links">
  ${csrfField(page.csrfToken)}
  <h2>${t.noCode}</h2>
  <button type="submit" class="secondary">${t.resend}</button>
</form>
<div class="links"><p><a href="${chooserPath(role)}">${t.otherWay}</a></p></div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, {
    title: t.title,
    path: action,
    body,
    notice: view.notice,
  });
}

/** A set-up that can no longer move (expired, replaced, finished): say so, offer a new one. */
function renderSetupEnded(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  ended: FlowFailure,
  role: Role,
): FastifyReply {
  const t = twoStepText(locale).phoneCode;
  const message = ended.code === "enrollment_not_found" ? t.ended : errorMessage(ended.code, locale, ended);
  const body = html`<div class="card">
<h1>${t.title}</h1>
<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${message}</p></div>
<a class="button wide" href="${chooserPath(role)}">${t.otherWay}</a>
</div>`;
  return sendSettingsPage(withRetryAfter(reply, ended), page, locale, errorStatuses[ended.code], {
    title: t.title,
    path: chooserPath(role),
    body,
  });
}

/** The message for a wrong code: the app's has no count of tries left, a phone's has. */
function wrongCodeState(locale: Locale, f: FlowFailure): FormState {
  if (f.code === "invalid_code" && f.extra?.attemptsLeft === undefined) {
    return { errors: { code: twoStepText(locale).app.wrongCode } };
  }
  return formState(locale, f);
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export function registerTwoStepSetupPages(app: FastifyInstance, deps: Deps): void {
  async function primaryOf(page: SettingsPage): Promise<MethodRow | undefined> {
    return (await listActiveMethods(deps.db, page.auth.account.id)).find((m) => m.role === "primary");
  }

  for (const role of ["primary", "backup"] as const) {
    const path = chooserPath(role);

    app.get(path, async (request, reply) => {
      const page = await settingsPage(deps, request, reply);
      if (!page) return reply;
      // A backup is added to two-step that is on; a primary while it is on replaces the old one.
      if (role === "backup" && !page.auth.account.two_step_enabled_at)
        return reply.redirect(twoStepPath, 303);
      const guard = pageGuard(page.ctx, path, true);
      if (guard) return reply.redirect(guard, 303);
      return renderChooser(reply, request.locale, page, 200, {
        role,
        primary: await primaryOf(page),
        form: { method: "", phone: "", errors: {} },
      });
    });

    app.post(path, async (request, reply) => {
      if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, path);
      const page = await settingsPage(deps, request, reply);
      if (!page) return reply;
      // The account's language, now that the session is loaded.
      const locale = request.locale;
      const method = formField(request, "method");
      const phone = formField(request, "phone").slice(0, 40);
      const show = async (status: number, state: FormState): Promise<FastifyReply> =>
        renderChooser(reply, locale, page, status, {
          role,
          primary: await primaryOf(page),
          form: { method, phone, ...state },
        });
      if (!isKind(method)) return show(400, { errors: { method: twoStepText(locale).choose.methodMissing } });
      // 「最初からやり直す」 on the app's set-up page: the only way (besides expiry) to a new key.
      const fresh = method === "totp" && formField(request, "restart") === "1";
      const result = await startEnrollment(
        page.ctx,
        { role, method, ...(method === "totp" ? {} : { phone }) },
        { fresh },
      );
      if (!result.ok) {
        const guard = guardRedirect(result, path);
        if (guard) return reply.redirect(guard, 303);
        if (result.code === "two_step_not_enabled") return reply.redirect(twoStepPath, 303);
        return show(errorStatuses[result.code], formState(locale, result));
      }
      // The set-up's own page, for the app too: a reload or the back button shows the same key.
      return reply.redirect(methodPath(result.enrollment.id), 303);
    });
  }

  /** The method being set up, if it is still pending and belongs to this account. */
  async function pendingMethod(page: SettingsPage, id: string): Promise<MethodRow | undefined> {
    const row = await findMethod(deps.db, page.auth.account.id, id.slice(0, 64));
    return row?.state === "pending" ? row : undefined;
  }

  /** The app's pending set-up with the key it was started with, or why it cannot be shown. */
  async function showAppSetup(
    reply: FastifyReply,
    locale: Locale,
    page: SettingsPage,
    method: MethodRow,
    status: number,
    form: FormState,
  ): Promise<FastifyReply> {
    const shown = await showAppEnrollment(page.ctx, method.id);
    if (shown.ok)
      return renderAppSetup(reply, locale, page, status, {
        enrollment: shown.enrollment,
        role: method.role,
        form,
      });
    const guard = guardRedirect(shown, methodPath(method.id));
    if (guard) return reply.redirect(guard, 303);
    return renderSetupEnded(reply, locale, page, shown, method.role);
  }

  app.get(
    `${twoStepPath}/methods/:id`,
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { resent?: string } }>, reply) => {
      const page = await settingsPage(deps, request, reply);
      if (!page) return reply;
      const locale = request.locale;
      const method = await pendingMethod(page, request.params.id);
      if (!method)
        return renderSetupEnded(reply, locale, page, { ok: false, code: "enrollment_not_found" }, "primary");
      const guard = pageGuard(page.ctx, methodPath(method.id), true);
      if (guard) return reply.redirect(guard, 303);
      if (method.method === "totp") return showAppSetup(reply, locale, page, method, 200, { errors: {} });
      return renderMethodCode(reply, locale, page, 200, {
        method,
        form: { errors: {} },
        ...(request.query.resent ? { notice: twoStepText(locale).phoneCode.resent } : {}),
      });
    },
  );

  app.post(`${twoStepPath}/methods/:id`, async (request: IdRequest, reply) => {
    const action = methodPath(request.params.id);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, action);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const method = await pendingMethod(page, request.params.id);
    if (!method)
      return renderSetupEnded(reply, locale, page, { ok: false, code: "enrollment_not_found" }, "primary");
    const result = await verifyEnrollment(page.ctx, method.id, formField(request, "code").slice(0, 32));
    if (result.ok) {
      await renewCookieSession(request, reply, deps);
      if (method.role === "backup") return reply.redirect(`${twoStepPath}?done=backup`, 303);
      if (page.auth.account.two_step_enabled_at) return reply.redirect(`${twoStepPath}?done=primary`, 303);
      return reply.redirect(`${twoStepPath}/enable`, 303);
    }
    const guard = guardRedirect(result, methodPath(method.id));
    if (guard) return reply.redirect(guard, 303);
    const stillPending = await pendingMethod(page, method.id);
    if (stillPending && (result.code === "invalid_code" || result.code === "too_many_attempts")) {
      // The app's QR code and key stay on the page beside the error: the same key, never a new one.
      if (stillPending.method === "totp")
        return showAppSetup(
          withRetryAfter(reply, result),
          locale,
          page,
          stillPending,
          errorStatuses[result.code],
          wrongCodeState(locale, result),
        );
      return renderMethodCode(withRetryAfter(reply, result), locale, page, errorStatuses[result.code], {
        method: stillPending,
        form: wrongCodeState(locale, result),
      });
    }
    return renderSetupEnded(reply, locale, page, result, method.role);
  });

  app.post(`${twoStepPath}/methods/:id/resend`, async (request: IdRequest, reply) => {
    const action = methodPath(request.params.id);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, action);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const method = await pendingMethod(page, request.params.id);
    if (!method)
      return renderSetupEnded(reply, locale, page, { ok: false, code: "enrollment_not_found" }, "primary");
    const result = await resendEnrollmentCode(page.ctx, method.id);
    if (result.ok) return reply.redirect(`${methodPath(method.id)}?resent=1`, 303);
    if (result.code !== "too_many_attempts")
      return renderSetupEnded(reply, locale, page, result, method.role);
    const wait = format(twoStepText(locale).phoneCode.resendWait, { minutes: minutesToWait(result) });
    const errors: FieldErrors = {};
    return renderMethodCode(withRetryAfter(reply, result), locale, page, errorStatuses[result.code], {
      method,
      form: { errors, general: wait },
    });
  });
}
