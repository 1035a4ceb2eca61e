import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { ensureCsrfToken } from "../../http/csrf.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import { type BrowserBoundFlow, bindFlowToBrowser, isFlowOfThisBrowser } from "../../http/flow-browser.ts";
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
import { codeSlip, formText, notHalfWidthIdentifier } from "../../i18n/form-text.ts";
import { format } from "../../i18n/locale.ts";
import { pageText } from "../../i18n/page-text.ts";
import { parseIdentifier } from "../../identity/identifiers.ts";
import { codeEntryCard } from "../../views/code-entry.ts";
import { csrfField, errorSummary, field } from "../../views/forms.ts";
import { html } from "../../views/html.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import {
  completePasswordReset,
  describePasswordReset,
  requestPasswordReset,
  resendPasswordResetCode,
  verifyPasswordResetCode,
} from "./password-reset.ts";

/**
 * "Forgot password" as plain forms that work without JavaScript: identifier -> code -> new
 * password -> the sign-in page. Every page reads the same whether or not the account exists: an
 * unknown identifier walks a decoy flow whose code is never right (see password-reset.ts).
 */

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** A reset that can still move, at the step it has reached. */
type LiveReset = { id: string; state: "code_sent" | "code_verified"; expiresAt: string };

function codePath(id: string): string {
  return `/password-reset/${encodeURIComponent(id)}`;
}

function newPasswordPath(id: string): string {
  return `${codePath(id)}/new`;
}

// The pages of a reset belong to the browser that asked for it (src/http/flow-browser.ts): the
// `/password-reset/…/new` URL found in a shared computer's history, after its owner entered the
// code, would otherwise let anyone set the password.
const resetPages: BrowserBoundFlow = {
  cookie: "mamori_reset",
  path: "/password-reset",
  purpose: "password-reset-browser",
};

/**
 * Hands a reset to this browser and opens its code page: the cookie that binds the reset's pages,
 * then a redirect. Used by "forgot password" and by "this wasn't me" (`from: "not_me"` adds a
 * notice saying every session ended).
 */
export function redirectToResetCode(
  deps: Deps,
  reply: FastifyReply,
  id: string,
  from?: "not_me",
): FastifyReply {
  bindFlowToBrowser(deps.config, reply, resetPages, id);
  return reply.redirect(from ? `${codePath(id)}?from=${from}` : codePath(id), 303);
}

/** The reset behind a page, or why it can no longer move (the same answers as the JSON API). */
async function findResetForPage(deps: Deps, rawId: string): Promise<LiveReset | FlowFailure> {
  const id = rawId.slice(0, 64);
  const row = await describePasswordReset(deps, id);
  if (!row || row.state === "completed" || row.state === "voided") return failure("password_reset_not_found");
  if (row.state === "exhausted") return failure("too_many_attempts");
  if (row.expiresAt <= deps.clock.now().toISOString()) return failure("code_expired");
  return { id, state: row.state, expiresAt: row.expiresAt };
}

function renderRequest(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: FormState & { identifier: string },
): FastifyReply {
  const text = pageText(locale).passwordReset;
  const body = html`<div class="card">
<h1>${text.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${text.intro}</p>
<form method="post" action="/password-reset" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "identifier", label: text.identifier, hint: text.identifierHint, value: form.identifier, autocomplete: "username", required: true, autofocus: true, maxlength: 320, errors: form.errors })}
  <button type="submit" class="wide">${text.submit}</button>
</form>
<div class="links">
  <p><a href="/sign-in">${text.backToSignIn}</a></p>
  <p><a href="/email-reminder">${pageText(locale).signIn.forgotEmail}</a></p>
</div>
</div>`;
  return sendPage(reply, status, { locale, title: text.title, path: "/password-reset", body });
}

function renderCode(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: FormState & { reset: LiveReset; notice?: string },
): FastifyReply {
  const text = pageText(locale).passwordReset;
  const action = codePath(form.reset.id);
  const body = codeEntryCard({
    locale,
    csrfToken,
    action,
    expiresAt: form.reset.expiresAt,
    intro: `${text.codeSent}${locale === "en" ? " " : ""}${text.codeIntro}`,
    resendHint: text.noMail,
    startAgainPath: "/password-reset",
    errors: form.errors,
    general: form.general,
    problem: form.problem,
  });
  return sendPage(reply, status, {
    locale,
    title: text.codeTitle,
    path: action,
    body,
    ...(form.notice ? { notice: form.notice } : {}),
  });
}

function renderNewPassword(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: FormState & { id: string; minLength: number },
): FastifyReply {
  const text = pageText(locale).passwordReset;
  const action = newPasswordPath(form.id);
  const body = html`<div class="card">
<h1>${text.newTitle}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${text.newIntro}</p>
<form method="post" action="${action}" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "newPassword", label: text.newPassword, hint: format(text.newPasswordHint, { min: form.minLength }), type: "password", locale, autocomplete: "new-password", required: true, autofocus: true, maxlength: 4096, errors: form.errors, strength: { locale } })}
  <p class="hint">${text.signOutNote}</p>
  <button type="submit" class="wide">${text.newSubmit}</button>
</form>
</div>`;
  return sendPage(reply, status, { locale, title: text.newTitle, path: action, body });
}

/** A reset that ended (expired, exhausted, finished or unknown): say why, and offer a new one. */
function sendEnded(reply: FastifyReply, locale: Locale, ended: FlowFailure): FastifyReply {
  const text = pageText(locale).passwordReset;
  return sendFlowEnded(
    reply,
    { locale, title: text.endedTitle, exhaustedMessage: text.codeExhausted, startPath: "/password-reset" },
    ended,
  );
}

export function registerPasswordResetPages(app: FastifyInstance, deps: Deps): void {
  const token = (request: FastifyRequest, reply: FastifyReply): string =>
    ensureCsrfToken(request, reply, deps.config, deps.random);
  const minLength = deps.config.limits.passwordMinLength;

  app.get(
    "/password-reset",
    async (request: FastifyRequest<{ Querystring: { identifier?: unknown } }>, reply) => {
      if (await answeredWithMaintenance(deps, request, reply, "/password-reset")) return reply;
      // Filled in from a link, e.g. "forgot your email?" passing the number it just proved. A repeated
      // parameter (an array) is ignored; the value is escaped like any other.
      const given = request.query.identifier;
      const identifier = typeof given === "string" ? given.slice(0, 320) : "";
      return renderRequest(reply, request.locale, token(request, reply), 200, { identifier, errors: {} });
    },
  );

  app.post("/password-reset", async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/password-reset");
    if (await answeredWithMaintenance(deps, request, reply, "/password-reset")) return reply;
    const csrfToken = token(request, reply);
    const text = pageText(locale).passwordReset;
    const identifier = formField(request, "identifier").slice(0, 320);
    // Only the form of the input is judged here, which says nothing about who has an account.
    const problem = identifier.trim()
      ? parseIdentifier(identifier)
        ? undefined
        : (notHalfWidthIdentifier(locale, identifier) ?? text.identifierInvalid)
      : text.identifierMissing;
    if (problem) {
      return renderRequest(reply, locale, csrfToken, 400, { identifier, errors: { identifier: problem } });
    }
    const result = await requestPasswordReset(deps, identifier, locale, requestMeta(request));
    if (!result.ok) {
      return renderRequest(withRetryAfter(reply, result), locale, csrfToken, errorStatuses[result.code], {
        identifier,
        ...formState(locale, result),
      });
    }
    return redirectToResetCode(deps, reply, result.passwordReset.id);
  });

  app.get(
    "/password-reset/:id",
    async (
      request: FastifyRequest<{ Params: { id: string }; Querystring: { resent?: string; from?: string } }>,
      reply,
    ) => {
      const locale = request.locale;
      if (await answeredWithMaintenance(deps, request, reply, codePath(request.params.id))) return reply;
      if (!isFlowOfThisBrowser(deps.config, request, resetPages, request.params.id)) {
        return sendEnded(reply, locale, failure("password_reset_not_found"));
      }
      const reset = await findResetForPage(deps, request.params.id);
      if ("ok" in reset) return sendEnded(reply, locale, reset);
      if (reset.state === "code_verified") return reply.redirect(newPasswordPath(reset.id), 303);
      const text = pageText(locale).passwordReset;
      const notice = request.query.resent
        ? text.resent
        : request.query.from === "not_me"
          ? text.notMe
          : undefined;
      return renderCode(reply, locale, token(request, reply), 200, {
        reset,
        errors: {},
        ...(notice ? { notice } : {}),
      });
    },
  );

  app.post("/password-reset/:id", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, codePath(id));
    if (await answeredWithMaintenance(deps, request, reply, codePath(id))) return reply;
    if (!isFlowOfThisBrowser(deps.config, request, resetPages, id))
      return sendEnded(reply, locale, failure("password_reset_not_found"));
    const csrfToken = token(request, reply);
    const code = formField(request, "code").slice(0, 32);
    const slip = codeSlip(locale, code);
    if (slip) {
      const waiting = await findResetForPage(deps, id);
      if ("ok" in waiting) return sendEnded(reply, locale, waiting);
      if (waiting.state === "code_sent")
        return renderCode(reply, locale, csrfToken, 400, { reset: waiting, errors: { code: slip } });
    }
    const result = await verifyPasswordResetCode(deps, id, code);
    if (result.ok) return reply.redirect(newPasswordPath(id), 303);
    const reset = await findResetForPage(deps, id);
    // A wrong code with tries left: the same page again, the error beside the field.
    if (result.code === "invalid_code" && !("ok" in reset) && reset.state === "code_sent") {
      return renderCode(reply, locale, csrfToken, errorStatuses[result.code], {
        reset,
        ...formState(locale, result),
      });
    }
    return sendEnded(reply, locale, result);
  });

  app.post("/password-reset/:id/resend", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, codePath(id));
    if (await answeredWithMaintenance(deps, request, reply, codePath(id))) return reply;
    if (!isFlowOfThisBrowser(deps.config, request, resetPages, id))
      return sendEnded(reply, locale, failure("password_reset_not_found"));
    const csrfToken = token(request, reply);
    const result = await resendPasswordResetCode(deps, id);
    if (result.ok) return reply.redirect(`${codePath(id)}?resent=1`, 303);
    const reset = await findResetForPage(deps, id);
    if ("ok" in reset) return sendEnded(reply, locale, reset);
    // The cooldown (or the cap on sends): the code already sent still works, so stay on the page.
    const minutes = Math.max(1, Math.ceil((result.retryAfterSeconds ?? 60) / 60));
    return renderCode(withRetryAfter(reply, result), locale, csrfToken, errorStatuses[result.code], {
      reset,
      errors: {},
      general: format(pageText(locale).passwordReset.resendWait, { minutes }),
      problem: "too_many_attempts",
    });
  });

  app.get("/password-reset/:id/new", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id;
    if (await answeredWithMaintenance(deps, request, reply, newPasswordPath(id))) return reply;
    if (!isFlowOfThisBrowser(deps.config, request, resetPages, id))
      return sendEnded(reply, locale, failure("password_reset_not_found"));
    const reset = await findResetForPage(deps, id);
    if ("ok" in reset) return sendEnded(reply, locale, reset);
    // The code comes first: a new password is only taken once the mailbox is proven.
    if (reset.state === "code_sent") return reply.redirect(codePath(id), 303);
    return renderNewPassword(reply, locale, token(request, reply), 200, { id, minLength, errors: {} });
  });

  app.post("/password-reset/:id/new", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, newPasswordPath(id));
    if (await answeredWithMaintenance(deps, request, reply, newPasswordPath(id))) return reply;
    if (!isFlowOfThisBrowser(deps.config, request, resetPages, id))
      return sendEnded(reply, locale, failure("password_reset_not_found"));
    const csrfToken = token(request, reply);
    const newPassword = formField(request, "newPassword").slice(0, 4096);
    if (newPassword === "") {
      const errors = { newPassword: formText(locale).missing.newPassword };
      return renderNewPassword(reply, locale, csrfToken, 400, { id, minLength, errors });
    }
    const result = await completePasswordReset(deps, id, newPassword, requestMeta(request));
    if (result.ok) return reply.redirect("/sign-in?reset=1", 303);
    if (result.field === "newPassword") {
      return renderNewPassword(reply, locale, csrfToken, errorStatuses[result.code], {
        id,
        minLength,
        ...formState(locale, result),
      });
    }
    const reset = await findResetForPage(deps, id);
    if (result.code === "code_not_verified" && !("ok" in reset) && reset.state === "code_sent") {
      return renderCode(reply, locale, csrfToken, errorStatuses[result.code], {
        reset,
        errors: {},
        general: errorMessage(result.code, locale, result),
      });
    }
    return sendEnded(reply, locale, result);
  });
}
