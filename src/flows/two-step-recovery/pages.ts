import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { ensureCsrfToken } from "../../http/csrf.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import { type BrowserBoundFlow, bindFlowToBrowser, isFlowOfThisBrowser } from "../../http/flow-browser.ts";
import {
  answeredWithMaintenance,
  checkFormToken,
  formField,
  formState,
  safeReturnTarget,
  sendFormExpired,
  sendPage,
  signedInPage,
  withRetryAfter,
} from "../../http/pages.ts";
import { requestMeta } from "../../http/request-context.ts";
import { formText } from "../../i18n/form-text.ts";
import { format } from "../../i18n/locale.ts";
import { formatDateTime } from "../../i18n/page-text.ts";
import { twoStepRecoveryText } from "../../i18n/two-step-text-recovery.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../../views/forms.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import { challengePages } from "../sign-in/challenge-browser.ts";
import { findWaitingRecovery, type RecoveryRow } from "./outcome.ts";
import {
  cancelRecoveryAsOwner,
  cancelRecoveryWithLink,
  findRecovery,
  findRecoveryAwaitingCode,
  proveTwoStepRecovery,
  resendTwoStepRecoveryCode,
  startTwoStepRecovery,
} from "./two-step-recovery.ts";

/**
 * 「2段階認証のコードを受け取れない場合」 as plain forms (no JavaScript, CSRF tokens): from the
 * sign-in's second step, an explanation and "email me a code"; then the code and the password; then
 * the waiting page. The cancel link of the mail and SMS opens a page with one button (a GET never
 * cancels: mail scanners open links). Login & security shows a banner with its own cancel button.
 */
type IdRequest = FastifyRequest<{ Params: { id: string }; Querystring: { return_to?: string } }>;

// The recovery's pages belong to the browser that started it, as the reset's do (flow-browser.ts).
const recoveryPages: BrowserBoundFlow = {
  cookie: "mamori_recovery",
  path: "/two-step-recovery",
  purpose: "two-step-recovery-browser",
};

function challengePath(id: string): string {
  return `/sign-in/two-step/${encodeURIComponent(id)}`;
}

function recoveryPath(id: string): string {
  return `/two-step-recovery/${encodeURIComponent(id)}`;
}

function card(title: string, content: SafeHtml): SafeHtml {
  return html`<div class="card"><h1>${title}</h1>${content}</div>`;
}

function sendEnded(reply: FastifyReply, locale: Locale, ended: FlowFailure): FastifyReply {
  const t = twoStepRecoveryText(locale);
  const message =
    ended.code === "invalid_code" || ended.code === "too_many_attempts"
      ? t.exhausted
      : errorMessage(ended.code, locale, ended);
  const body = card(
    t.endedTitle,
    html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${message}</p></div>
<a class="button wide" href="/sign-in">${t.signIn}</a>`,
  );
  return sendPage(withRetryAfter(reply, ended), errorStatuses[ended.code], {
    locale,
    title: t.endedTitle,
    path: "/sign-in",
    body,
  });
}

function renderStart(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  view: { challengeId: string; returnTo: string; hours: number; general?: string },
): FastifyReply {
  const t = twoStepRecoveryText(locale);
  const action = `${challengePath(view.challengeId)}/recovery`;
  const body = card(
    t.startTitle,
    html`${errorSummary(locale, {}, view.general)}
<p>${t.startIntro}</p>
<p>${format(t.startWait, { hours: view.hours })}</p>
<form method="post" action="${action}">${csrfField(csrfToken)}<input type="hidden" name="return_to" value="${view.returnTo}"><button type="submit" class="wide">${t.startSubmit}</button></form>
<div class="links"><p><a href="${challengePath(view.challengeId)}?return_to=${encodeURIComponent(view.returnTo)}">${t.back}</a></p></div>`,
  );
  return sendPage(reply, status, { locale, title: t.startTitle, path: action, body });
}

function renderProve(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  row: RecoveryRow,
  form: { errors: FieldErrors; general?: string | undefined },
): FastifyReply {
  const t = twoStepRecoveryText(locale);
  const action = recoveryPath(row.id);
  const hint = format(t.codeHint, { time: formatDateTime(row.code_expires_at, locale) });
  const body = card(
    t.proveTitle,
    html`${errorSummary(locale, form.errors, form.general)}
<p>${t.proveIntro}</p>
<form method="post" action="${action}" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "code", label: t.code, hint, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 12, errors: form.errors })}
  ${field({ name: "password", label: t.password, type: "password", locale, autocomplete: "current-password", required: true, maxlength: 4096, errors: form.errors })}
  <button type="submit" class="wide">${t.proveSubmit}</button>
</form>
<form method="post" action="${action}/resend" class="links">${csrfField(csrfToken)}<p>${t.noMail}</p><button type="submit" class="secondary">${t.resend}</button></form>`,
  );
  return sendPage(reply, status, { locale, title: t.proveTitle, path: action, body });
}

function renderWaiting(reply: FastifyReply, locale: Locale, completesAt: string): FastifyReply {
  const t = twoStepRecoveryText(locale);
  const body = card(
    t.waitingTitle,
    html`<p>${format(t.waitingIntro, { time: formatDateTime(completesAt, locale) })}</p>
<p>${t.waitingNote}</p>
<a class="button wide" href="/sign-in">${t.signIn}</a>`,
  );
  return sendPage(reply, 200, { locale, title: t.waitingTitle, path: "/two-step-recovery", body });
}

function renderCancelled(reply: FastifyReply, locale: Locale, status: number, gone: boolean): FastifyReply {
  const t = twoStepRecoveryText(locale);
  const body = gone
    ? card(
        t.cancelTitle,
        html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${t.cancelGone}</p></div>`,
      )
    : card(
        t.cancelledTitle,
        html`<p>${t.cancelledIntro}</p><a class="button wide" href="/account/security">OK</a>`,
      );
  return sendPage(reply, status, {
    locale,
    title: gone ? t.cancelTitle : t.cancelledTitle,
    path: "/two-step-recovery/cancel",
    body,
  });
}

/** The banner on ログインとセキュリティ while a recovery waits, with its one-click cancel button. */
export async function twoStepRecoveryBanner(
  deps: Deps,
  accountId: string,
  locale: Locale,
  csrfToken: string,
): Promise<SafeHtml | null> {
  const waiting = await findWaitingRecovery(deps.db, accountId);
  if (!waiting?.completes_at) return null;
  const t = twoStepRecoveryText(locale);
  return html`<div class="card warning" role="alert" id="two-step-recovery-banner">
<h2>${t.bannerTitle}</h2>
<p>${format(t.bannerText, { time: formatDateTime(waiting.completes_at, locale) })}</p>
<form method="post" action="/account/security/two-step-recovery/cancel">${csrfField(csrfToken)}<button type="submit">${t.bannerCancel}</button></form>
</div>`;
}

export function registerTwoStepRecoveryPages(app: FastifyInstance, deps: Deps): void {
  const token = (request: FastifyRequest, reply: FastifyReply): string =>
    ensureCsrfToken(request, reply, deps.config, deps.random);
  const hours = (): number => Math.max(1, Math.round(deps.config.limits.twoStepRecoveryWaitSeconds / 3600));
  const ofChallengeBrowser = (request: IdRequest): boolean =>
    isFlowOfThisBrowser(deps.config, request, challengePages, request.params.id.slice(0, 64));
  const ofRecoveryBrowser = (request: IdRequest): boolean =>
    isFlowOfThisBrowser(deps.config, request, recoveryPages, request.params.id.slice(0, 64));

  app.get("/sign-in/two-step/:id/recovery", async (request: IdRequest, reply) => {
    const locale = request.locale;
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!ofChallengeBrowser(request)) return sendEnded(reply, locale, failure("challenge_not_found"));
    const returnTo = safeReturnTarget(request.query.return_to, deps.config.allowedOrigins);
    return renderStart(reply, locale, token(request, reply), 200, {
      challengeId: request.params.id.slice(0, 64),
      returnTo,
      hours: hours(),
    });
  });

  app.post("/sign-in/two-step/:id/recovery", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id.slice(0, 64);
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, locale, `${challengePath(id)}/recovery`);
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!ofChallengeBrowser(request)) return sendEnded(reply, locale, failure("challenge_not_found"));
    const result = await startTwoStepRecovery(deps, id, requestMeta(request));
    if (result.ok) {
      bindFlowToBrowser(deps.config, reply, recoveryPages, result.twoStepRecovery.id);
      return reply.redirect(recoveryPath(result.twoStepRecovery.id), 303);
    }
    if (result.code !== "too_many_attempts" && result.code !== "two_step_recovery_pending")
      return sendEnded(reply, locale, result);
    const returnTo = safeReturnTarget(formField(request, "return_to"), deps.config.allowedOrigins);
    return renderStart(
      withRetryAfter(reply, result),
      locale,
      token(request, reply),
      errorStatuses[result.code],
      {
        challengeId: id,
        returnTo,
        hours: hours(),
        general: errorMessage(result.code, locale, result),
      },
    );
  });

  app.get("/two-step-recovery/:id", async (request: IdRequest, reply) => {
    const locale = request.locale;
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!ofRecoveryBrowser(request)) return sendEnded(reply, locale, failure("two_step_recovery_not_found"));
    const id = request.params.id.slice(0, 64);
    const row = await findRecoveryAwaitingCode(deps, id);
    if ("ok" in row) {
      const waiting = row.code === "two_step_recovery_pending" ? await findRecovery(deps, id) : undefined;
      if (waiting?.state === "waiting" && waiting.completes_at)
        return renderWaiting(reply, locale, waiting.completes_at);
      return sendEnded(reply, locale, row);
    }
    return renderProve(reply, locale, token(request, reply), 200, row, { errors: {} });
  });

  app.post("/two-step-recovery/:id", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id.slice(0, 64);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, recoveryPath(id));
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!ofRecoveryBrowser(request)) return sendEnded(reply, locale, failure("two_step_recovery_not_found"));
    const code = formField(request, "code").slice(0, 32);
    const password = formField(request, "password").slice(0, 4096);
    // An empty field is asked for, not spent as one of the tries.
    if (code.trim() === "" || password === "") {
      const waiting = await findRecoveryAwaitingCode(deps, id);
      if ("ok" in waiting) return sendEnded(reply, locale, waiting);
      const missing = formText(locale).missing;
      const errors: FieldErrors = {
        ...(code.trim() === "" ? { code: missing.code } : {}),
        ...(password === "" ? { password: missing.password } : {}),
      };
      return renderProve(reply, locale, token(request, reply), 400, waiting, { errors });
    }
    const result = await proveTwoStepRecovery(deps, id, { code, password }, requestMeta(request));
    if (result.ok) return reply.redirect(recoveryPath(id), 303);
    const row = await findRecoveryAwaitingCode(deps, id);
    // A wrong code or password with tries left: the same form, the error beside its field.
    if ((result.code === "invalid_code" || result.code === "invalid_credentials") && !("ok" in row)) {
      const state = formState(locale, result);
      return renderProve(reply, locale, token(request, reply), errorStatuses[result.code], row, state);
    }
    return sendEnded(reply, locale, result);
  });

  app.post("/two-step-recovery/:id/resend", async (request: IdRequest, reply) => {
    const locale = request.locale;
    const id = request.params.id.slice(0, 64);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, recoveryPath(id));
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!ofRecoveryBrowser(request)) return sendEnded(reply, locale, failure("two_step_recovery_not_found"));
    const result = await resendTwoStepRecoveryCode(deps, id);
    const row = await findRecoveryAwaitingCode(deps, id);
    if ("ok" in row) return sendEnded(reply, locale, row);
    if (result.ok) {
      return renderProve(reply, locale, token(request, reply), 200, row, {
        errors: {},
        general: twoStepRecoveryText(locale).resent,
      });
    }
    // The cooldown (or the cap on sends): the code already sent still works, so stay on the form.
    const minutes = Math.max(1, Math.ceil((result.retryAfterSeconds ?? 60) / 60));
    return renderProve(withRetryAfter(reply, result), locale, token(request, reply), 429, row, {
      errors: {},
      general: format(twoStepRecoveryText(locale).resendWait, { minutes }),
    });
  });

  app.get(
    "/two-step-recovery/cancel",
    async (request: FastifyRequest<{ Querystring: { token?: unknown } }>, reply) => {
      const locale = request.locale;
      const t = twoStepRecoveryText(locale);
      const given = typeof request.query.token === "string" ? request.query.token.slice(0, 200) : "";
      // Nothing is cancelled here: the button posts the token (link scanners only GET).
      const body = card(
        t.cancelTitle,
        html`<p>${t.cancelIntro}</p>
<form method="post" action="/two-step-recovery/cancel">${csrfField(token(request, reply))}<input type="hidden" name="token" value="${given}"><button type="submit" class="wide">${t.cancelSubmit}</button></form>`,
      );
      reply.header("referrer-policy", "no-referrer");
      return sendPage(reply, 200, { locale, title: t.cancelTitle, path: "/two-step-recovery/cancel", body });
    },
  );

  app.post("/two-step-recovery/cancel", async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, locale, "/two-step-recovery/cancel");
    const result = await cancelRecoveryWithLink(
      deps,
      formField(request, "token").slice(0, 200),
      requestMeta(request),
    );
    return renderCancelled(reply, locale, result.ok ? 200 : 404, !result.ok);
  });

  app.post("/account/security/two-step-recovery/cancel", async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, "/account/security");
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const result = await cancelRecoveryAsOwner(deps, page.auth.account, requestMeta(request));
    return renderCancelled(reply, request.locale, result.ok ? 200 : 404, !result.ok);
  });

  app.get(
    "/two-step-recovery/set-up-again",
    async (request: FastifyRequest<{ Querystring: { return_to?: string } }>, reply) => {
      const page = await signedInPage(deps, request, reply);
      if (!page) return reply;
      const locale = request.locale;
      const t = twoStepRecoveryText(locale);
      const returnTo = safeReturnTarget(request.query.return_to, deps.config.allowedOrigins);
      const body = card(
        t.setUpTitle,
        html`<p>${t.setUpIntro}</p>
<a class="button wide" href="/account/security/two-step">${t.setUpNow}</a>
<div class="links"><p><a href="${returnTo}">${t.later}</a></p></div>`,
      );
      return sendPage(reply, 200, {
        locale,
        title: t.setUpTitle,
        path: "/two-step-recovery/set-up-again",
        body,
        signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
      });
    },
  );
}
