import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import type { FlowFailure } from "../flows/flow-result.ts";
import { pageGuard, settingsPage } from "../flows/two-step-settings/pages-shared.ts";
import { errorMessage, errorStatuses } from "../http/errors.ts";
import {
  checkFormToken,
  type FormState,
  formField,
  type PageContext,
  sendFormExpired,
  sendPage,
  signedInPage,
} from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { format } from "../i18n/locale.ts";
import { profileText } from "../i18n/profile-text.ts";
import { csrfField, errorSummary, field } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { maskedPhone } from "../views/phone-number.ts";
import { startEmailChange, verifyEmailChange } from "./email-change.ts";
import { startPhoneChange, startPhoneRemoval, verifyPhoneChange } from "./mobile-number.ts";
import { changeName } from "./name-change.ts";

/**
 * The profile pages of Login & security: 氏名, Eメールアドレス (a code to the new address) and
 * 携帯電話番号 (an SMS code), plain forms that work without JavaScript; and the undo page the
 * old address's mail links to.
 */
const namePath = "/account/security/name";
const emailPath = "/account/security/email";
const phonePath = "/account/security/phone";

function formOf(locale: Locale, f: FlowFailure, field: string): FormState {
  const message = errorMessage(f.code, locale, f);
  return { errors: { [f.field ?? field]: message } };
}

function send(
  reply: FastifyReply,
  page: PageContext,
  locale: Locale,
  status: number,
  content: { title: string; path: string; body: SafeHtml },
): FastifyReply {
  return sendPage(reply, status, {
    locale,
    ...content,
    signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
  });
}

function back(locale: Locale): SafeHtml {
  return html`<p><a href="/account/security">${locale === "ja" ? "ログインとセキュリティへ戻る" : "Back to Login & security"}</a></p>`;
}

function withRetry(reply: FastifyReply, f: FlowFailure): void {
  if (f.retryAfterSeconds !== undefined) reply.header("retry-after", String(f.retryAfterSeconds));
}

function nameForm(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  value: string,
  form: FormState,
) {
  const t = profileText(locale).name;
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<form method="post" action="${namePath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${field({ name: "name", label: t.label, hint: t.hint, value, autocomplete: "name", required: true, autofocus: true, maxlength: 100, errors: form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>
</div>
${back(locale)}`;
  return send(reply, page, locale, status, { title: t.title, path: namePath, body });
}

function emailForm(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  deps: Deps,
  form: FormState,
  value = "",
) {
  const t = profileText(locale).email;
  const days = Math.max(1, Math.round(deps.config.limits.emailChangeUndoSeconds / 86_400));
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${format(t.current, { email: page.auth.account.email })}</p>
<p>${t.intro}</p>
<p class="hint">${format(t.notice, { days })}</p>
<form method="post" action="${emailPath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${field({ name: "email", label: t.label, type: "email", value, autocomplete: "email", inputmode: "email", required: true, autofocus: true, maxlength: 254, errors: form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>
</div>
${back(locale)}`;
  return send(reply, page, locale, status, { title: t.title, path: emailPath, body });
}

type CodeView = {
  id: string;
  intro: string;
  note?: string;
  action: string;
  submit: string;
  again: string;
  againLabel: string;
};

function codeForm(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  view: CodeView,
  form: FormState,
) {
  const t = profileText(locale).email;
  const body = html`<div class="card">
<h1>${t.verifyTitle}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${view.intro}</p>
${view.note ? html`<p class="hint">${view.note}</p>` : null}
<form method="post" action="${view.action}" novalidate>
  ${csrfField(page.csrfToken)}
  <input type="hidden" name="change" value="${view.id}">
  ${field({ name: "code", label: t.code, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 12, errors: form.errors })}
  <button type="submit" class="wide">${view.submit}</button>
</form>
<div class="links"><p><a href="${view.again}">${view.againLabel}</a></p></div>
</div>
${back(locale)}`;
  return send(reply, page, locale, status, { title: t.verifyTitle, path: view.action, body });
}

/** The pending change's target as the page shows it (the new address; the number masked). */
async function changeTarget(deps: Deps, accountId: string, id: string) {
  return deps.db
    .selectFrom("profile_change")
    .select(["id", "kind", "value"])
    .where("id", "=", id)
    .where("account_id", "=", accountId)
    .where("state", "=", "code_sent")
    .executeTakeFirst();
}

function phonePage(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  status: number,
  form: FormState,
  value = "",
) {
  const t = profileText(locale).phone;
  const account = page.auth.account;
  const current = account.phone && account.phone_verified_at ? account.phone : null;
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${t.uses}</p>
<p class="hint">${t.sms}</p>
<p><strong>${current ? format(t.current, { phone: maskedPhone(current) }) : t.none}</strong></p>
${current && account.phone_source === "two_step" ? html`<p class="note">${t.twoStepNote}</p>` : null}
<form method="post" action="${phonePath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${field({ name: "phone", label: current ? t.label : t.labelAdd, hint: t.hint, type: "tel", value, autocomplete: "tel", inputmode: "tel", required: true, autofocus: true, maxlength: 40, errors: form.errors })}
  <button type="submit" class="wide">${t.submit}</button>
</form>
</div>
${
  current
    ? html`<div class="card">
<h2>${t.removeTitle}</h2>
<p>${t.removeHint}</p>
<form method="post" action="${phonePath}/remove">${csrfField(page.csrfToken)}<button type="submit" class="danger">${t.remove}</button></form>
</div>`
    : null
}
${back(locale)}`;
  return send(reply, page, locale, status, { title: t.title, path: phonePath, body });
}

function phoneCodeView(locale: Locale, id: string, kind: string, phone: string): CodeView {
  const t = profileText(locale).phone;
  return {
    id,
    intro: format(kind === "phone_removal" ? t.verifyRemoveIntro : t.verifyIntro, {
      phone: maskedPhone(phone),
    }),
    action: `${phonePath}/verify`,
    submit: t.verifySubmit,
    again: phonePath,
    againLabel: t.title,
  };
}

function emailCodeView(locale: Locale, id: string, email: string): CodeView {
  const t = profileText(locale).email;
  return {
    id,
    intro: format(t.verifyIntro, { email }),
    note: t.verifyNote,
    action: `${emailPath}/verify`,
    submit: t.verifySubmit,
    again: emailPath,
    againLabel: t.startAgain,
  };
}

export function registerProfilePages(app: FastifyInstance, deps: Deps): void {
  app.get(namePath, async (request, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    return nameForm(reply, request.locale, page, 200, page.auth.account.name, { errors: {} });
  });

  app.post(namePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, namePath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const name = formField(request, "name").slice(0, 400);
    const result = await changeName(deps, page.auth, { name }, requestMeta(request));
    if (result.ok) return reply.redirect("/account/security?done=name", 303);
    return nameForm(
      reply,
      request.locale,
      page,
      errorStatuses[result.code],
      name,
      formOf(request.locale, result, "name"),
    );
  });

  app.get(emailPath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const guard = pageGuard(page.ctx, emailPath, false);
    if (guard) return reply.redirect(guard, 303);
    return emailForm(reply, request.locale, page, 200, deps, { errors: {} });
  });

  app.post(emailPath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, emailPath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const email = formField(request, "email").slice(0, 320);
    const result = await startEmailChange(deps, page.auth, { email }, requestMeta(request));
    if (result.ok)
      return reply.redirect(`${emailPath}/verify?change=${encodeURIComponent(result.emailChange.id)}`, 303);
    const guard = pageGuard(page.ctx, emailPath, false);
    if (guard) return reply.redirect(guard, 303);
    withRetry(reply, result);
    return emailForm(
      reply,
      request.locale,
      page,
      errorStatuses[result.code],
      deps,
      formOf(request.locale, result, "email"),
      email,
    );
  });

  app.get(
    `${emailPath}/verify`,
    async (request: FastifyRequest<{ Querystring: { change?: string } }>, reply) => {
      const page = await signedInPage(deps, request, reply);
      if (!page) return reply;
      const change = await changeTarget(
        deps,
        page.auth.account.id,
        String(request.query.change ?? "").slice(0, 64),
      );
      if (change?.kind !== "email") return reply.redirect(emailPath, 303);
      return codeForm(
        reply,
        request.locale,
        page,
        200,
        emailCodeView(request.locale, change.id, change.value),
        { errors: {} },
      );
    },
  );

  app.post(`${emailPath}/verify`, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, emailPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const id = formField(request, "change").slice(0, 64);
    const change = await changeTarget(deps, page.auth.account.id, id);
    if (change?.kind !== "email") return reply.redirect(emailPath, 303);
    const result = await verifyEmailChange(
      deps,
      page.auth,
      id,
      formField(request, "code").slice(0, 32),
      requestMeta(request),
    );
    if (result.ok) return reply.redirect("/account/security?done=email", 303);
    withRetry(reply, result);
    return codeForm(
      reply,
      request.locale,
      page,
      errorStatuses[result.code],
      emailCodeView(request.locale, id, change.value),
      formOf(request.locale, result, "code"),
    );
  });

  app.get(phonePath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const guard = pageGuard(page.ctx, phonePath, false);
    if (guard) return reply.redirect(guard, 303);
    return phonePage(reply, request.locale, page, 200, { errors: {} });
  });

  app.post(phonePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, phonePath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const phone = formField(request, "phone").slice(0, 40);
    const result = await startPhoneChange(deps, page.auth, { phone }, requestMeta(request));
    if (result.ok)
      return reply.redirect(`${phonePath}/verify?change=${encodeURIComponent(result.phoneChange.id)}`, 303);
    const guard = pageGuard(page.ctx, phonePath, false);
    if (guard) return reply.redirect(guard, 303);
    withRetry(reply, result);
    const form =
      result.code === "phone_cannot_receive_sms"
        ? { errors: { phone: profileText(request.locale).phone.noSms } }
        : formOf(request.locale, result, "phone");
    return phonePage(reply, request.locale, page, errorStatuses[result.code], form, phone);
  });

  app.post(`${phonePath}/remove`, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, phonePath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const result = await startPhoneRemoval(deps, page.auth, requestMeta(request));
    if (result.ok)
      return reply.redirect(`${phonePath}/verify?change=${encodeURIComponent(result.phoneChange.id)}`, 303);
    const guard = pageGuard(page.ctx, phonePath, false);
    if (guard) return reply.redirect(guard, 303);
    withRetry(reply, result);
    return phonePage(reply, request.locale, page, errorStatuses[result.code], {
      errors: {},
      general: errorMessage(result.code, request.locale, result),
    });
  });

  app.get(
    `${phonePath}/verify`,
    async (request: FastifyRequest<{ Querystring: { change?: string } }>, reply) => {
      const page = await signedInPage(deps, request, reply);
      if (!page) return reply;
      const change = await changeTarget(
        deps,
        page.auth.account.id,
        String(request.query.change ?? "").slice(0, 64),
      );
      if (!change || change.kind === "email") return reply.redirect(phonePath, 303);
      return codeForm(
        reply,
        request.locale,
        page,
        200,
        phoneCodeView(request.locale, change.id, change.kind, change.value),
        { errors: {} },
      );
    },
  );

  app.post(`${phonePath}/verify`, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, phonePath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const id = formField(request, "change").slice(0, 64);
    const change = await changeTarget(deps, page.auth.account.id, id);
    if (!change || change.kind === "email") return reply.redirect(phonePath, 303);
    const result = await verifyPhoneChange(
      deps,
      page.auth,
      id,
      formField(request, "code").slice(0, 32),
      requestMeta(request),
    );
    if (result.ok)
      return reply.redirect(
        `/account/security?done=${change.kind === "phone_removal" ? "phone_removed" : "phone"}`,
        303,
      );
    withRetry(reply, result);
    return codeForm(
      reply,
      request.locale,
      page,
      errorStatuses[result.code],
      phoneCodeView(request.locale, id, change.kind, change.value),
      formOf(request.locale, result, "code"),
    );
  });
}
