import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { ensureCsrfToken } from "../../http/csrf.ts";
import { errorStatuses } from "../../http/errors.ts";
import {
  type BrowserBoundFlow,
  bindFlowToBrowser,
  isFlowOfThisBrowser,
  releaseFlowFromBrowser,
} from "../../http/flow-browser.ts";
import {
  answeredWithMaintenance,
  checkFormToken,
  type FormState,
  formField,
  formState,
  sendFlowEnded,
  sendFormExpired,
  sendPage,
  withRetryAfter,
} from "../../http/pages.ts";
import { requestMeta } from "../../http/request-context.ts";
import { codeSlip } from "../../i18n/form-text.ts";
import { format } from "../../i18n/locale.ts";
import { pageText } from "../../i18n/page-text.ts";
import { parsePhoneNumberFromString } from "../../identity/phone-numbers.ts";
import { codeEntryCard } from "../../views/code-entry.ts";
import { csrfField, errorSummary, field } from "../../views/forms.ts";
import { html } from "../../views/html.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import { requestEmailReminder, resendEmailReminder, verifyEmailReminder } from "./email-reminder.ts";

/**
 * "Forgot your email?" as plain forms that work without JavaScript: mobile number -> the code from
 * the SMS -> the email, masked, with the way to sign in or reset the password. Every page reads the
 * same whether or not the number belongs to an account: an unknown number walks a decoy flow that
 * sends nothing and whose code is never right (see email-reminder.ts).
 */

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** A flow that can still take a code. */
type LiveReminder = { id: string; phone: string; expiresAt: string };

const startPath = "/email-reminder";

function codePath(id: string): string {
  return `${startPath}/${encodeURIComponent(id)}`;
}

// The pages of a reminder belong to the browser that asked for it (src/http/flow-browser.ts): a
// stranger with the code page's URL could otherwise spend the owner's tries, or see the email once
// the code arrives.
const reminderPages: BrowserBoundFlow = {
  cookie: "mamori_email_reminder",
  path: startPath,
  purpose: "email-reminder-browser",
};

/** The flow behind a page, or why it can no longer take a code (the same answers as the JSON API). */
async function findReminderForPage(deps: Deps, rawId: string): Promise<LiveReminder | FlowFailure> {
  const id = rawId.slice(0, 64);
  const row = await deps.db
    .selectFrom("email_reminder")
    .select(["phone", "state", "expires_at"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row || row.state === "completed") return failure("email_reminder_not_found");
  if (row.state === "exhausted") return failure("too_many_attempts");
  if (row.expires_at <= deps.clock.now().toISOString()) return failure("code_expired");
  return { id, phone: row.phone, expiresAt: row.expires_at };
}

/** The number as people write it (`090-1234-5678`), for the password reset's identifier field. */
function phoneForPeople(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return e164;
  return parsed.country === "JP" ? parsed.formatNational() : parsed.formatInternational();
}

function renderRequest(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: FormState & { phone: string },
): FastifyReply {
  const text = pageText(locale).emailReminder;
  const shared = pageText(locale).passwordReset;
  const body = html`<div class="card">
<h1>${text.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${text.intro}</p>
<form method="post" action="${startPath}" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "phone", label: text.phone, hint: text.phoneHint, type: "tel", value: form.phone, autocomplete: "tel", inputmode: "tel", required: true, autofocus: true, maxlength: 40, errors: form.errors })}
  <button type="submit" class="wide">${shared.submit}</button>
</form>
<div class="links"><p><a href="/sign-in">${shared.backToSignIn}</a></p></div>
</div>`;
  return sendPage(reply, status, { locale, title: text.title, path: startPath, body });
}

function renderCode(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: FormState & { reminder: LiveReminder; notice?: string },
): FastifyReply {
  const text = pageText(locale).emailReminder;
  const shared = pageText(locale).passwordReset;
  const action = codePath(form.reminder.id);
  const body = codeEntryCard({
    locale,
    csrfToken,
    action,
    expiresAt: form.reminder.expiresAt,
    intro: `${text.codeSent}${locale === "en" ? " " : ""}${text.codeIntro}`,
    resendHint: text.noSms,
    startAgainPath: startPath,
    errors: form.errors,
    general: form.general,
    problem: form.problem,
  });
  return sendPage(reply, status, {
    locale,
    title: shared.codeTitle,
    path: action,
    body,
    ...(form.notice ? { notice: form.notice } : {}),
  });
}

/**
 * The answer to the right code, sent once as the POST's response: a reload re-posts the spent code
 * and gets the ended page, so the email is not shown again.
 */
function renderResult(reply: FastifyReply, locale: Locale, maskedEmail: string, phone: string): FastifyReply {
  const text = pageText(locale).emailReminder;
  const [before = "", after = ""] = text.result.split("{email}");
  const resetHref = `/password-reset?identifier=${encodeURIComponent(phoneForPeople(phone))}`;
  const body = html`<div class="card">
<h1>${text.resultTitle}</h1>
<p class="result">${before}<strong class="masked-email">${maskedEmail}</strong>${after}</p>
<p>${text.resultNote}</p>
<a class="button wide" href="/sign-in">${text.signIn}</a>
<p>${text.resultPassword}</p>
<a class="button secondary wide" href="${resetHref}">${text.resetPassword}</a>
</div>`;
  // The language switch starts over: the result is not shown twice.
  return sendPage(reply, 200, { locale, title: text.resultTitle, path: startPath, body });
}

/** A flow that ended (expired, exhausted, finished, unknown, another browser's): say why, offer a new one. */
function sendEnded(reply: FastifyReply, locale: Locale, ended: FlowFailure): FastifyReply {
  const text = pageText(locale).emailReminder;
  return sendFlowEnded(
    reply,
    { locale, title: text.endedTitle, exhaustedMessage: text.codeExhausted, startPath: startPath },
    ended,
  );
}

export function registerEmailReminderPages(app: FastifyInstance, deps: Deps): void {
  const token = (request: FastifyRequest, reply: FastifyReply): string =>
    ensureCsrfToken(request, reply, deps.config, deps.random);
  const notFound = failure("email_reminder_not_found");

  app.get(startPath, async (request, reply) => {
    if (await answeredWithMaintenance(deps, request, reply, startPath)) return reply;
    return renderRequest(reply, request.locale, token(request, reply), 200, { phone: "", errors: {} });
  });

  app.post(startPath, async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, startPath);
    if (await answeredWithMaintenance(deps, request, reply, startPath)) return reply;
    const csrfToken = token(request, reply);
    const phone = formField(request, "phone").slice(0, 40);
    if (!phone.trim()) {
      const errors = { phone: pageText(locale).emailReminder.phoneMissing };
      return renderRequest(reply, locale, csrfToken, 400, { phone, errors });
    }
    // The same answer for any well-formed number: only its form is judged here.
    const result = await requestEmailReminder(deps, phone, locale, requestMeta(request));
    if (!result.ok) {
      return renderRequest(withRetryAfter(reply, result), locale, csrfToken, errorStatuses[result.code], {
        phone,
        ...formState(locale, result),
      });
    }
    bindFlowToBrowser(deps.config, reply, reminderPages, result.emailReminder.id);
    return reply.redirect(codePath(result.emailReminder.id), 303);
  });

  app.get(
    `${startPath}/:id`,
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { resent?: string } }>, reply) => {
      const locale = request.locale;
      const id = request.params.id;
      if (await answeredWithMaintenance(deps, request, reply, codePath(id))) return reply;
      if (!isFlowOfThisBrowser(deps.config, request, reminderPages, id))
        return sendEnded(reply, locale, notFound);
      const reminder = await findReminderForPage(deps, id);
      if ("ok" in reminder) return sendEnded(reply, locale, reminder);
      return renderCode(reply, locale, token(request, reply), 200, {
        reminder,
        errors: {},
        ...(request.query.resent ? { notice: pageText(locale).emailReminder.resent } : {}),
      });
    },
  );

  app.post(`${startPath}/:id`, async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, codePath(id));
    if (await answeredWithMaintenance(deps, request, reply, codePath(id))) return reply;
    if (!isFlowOfThisBrowser(deps.config, request, reminderPages, id))
      return sendEnded(reply, locale, notFound);
    const reminder = await findReminderForPage(deps, id);
    if ("ok" in reminder) return sendEnded(reply, locale, reminder);
    const csrfToken = token(request, reply);
    const code = formField(request, "code").slice(0, 32);
    const slip = codeSlip(locale, code);
    if (slip) return renderCode(reply, locale, csrfToken, 400, { reminder, errors: { code: slip } });
    const result = await verifyEmailReminder(deps, reminder.id, code, requestMeta(request));
    if (result.ok) {
      // The flow is spent: its pages have nothing more to show this browser.
      releaseFlowFromBrowser(deps.config, reply, reminderPages, reminder.id);
      return renderResult(reply, locale, result.maskedEmail, reminder.phone);
    }
    // A wrong code with tries left: the same page again, the error beside the field.
    if (result.code === "invalid_code" && Number(result.extra?.attemptsLeft ?? 0) > 0) {
      return renderCode(reply, locale, csrfToken, errorStatuses[result.code], {
        reminder,
        ...formState(locale, result),
      });
    }
    return sendEnded(reply, locale, result);
  });

  app.post(`${startPath}/:id/resend`, async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, codePath(id));
    if (await answeredWithMaintenance(deps, request, reply, codePath(id))) return reply;
    if (!isFlowOfThisBrowser(deps.config, request, reminderPages, id))
      return sendEnded(reply, locale, notFound);
    const csrfToken = token(request, reply);
    const result = await resendEmailReminder(deps, id.slice(0, 64));
    if (result.ok) return reply.redirect(`${codePath(id)}?resent=1`, 303);
    const reminder = await findReminderForPage(deps, id);
    if ("ok" in reminder) return sendEnded(reply, locale, reminder);
    // The cooldown (or the cap on sends): the code already sent still works, so stay on the page.
    const minutes = Math.max(1, Math.ceil((result.retryAfterSeconds ?? 60) / 60));
    return renderCode(withRetryAfter(reply, result), locale, csrfToken, errorStatuses[result.code], {
      reminder,
      errors: {},
      general: format(pageText(locale).passwordReset.resendWait, { minutes }),
      problem: "too_many_attempts",
    });
  });
}
