import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { listActiveMethods, type MethodRow } from "../../factors/two-step/methods.ts";
import { ensureCsrfToken } from "../../http/csrf.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import { isFlowOfThisBrowser, releaseFlowFromBrowser } from "../../http/flow-browser.ts";
import {
  answeredWithMaintenance,
  checkFormToken,
  formField,
  safeReturnTarget,
  sendFormExpired,
  sendPage,
} from "../../http/pages.ts";
import { requestMeta, setSessionCookie } from "../../http/request-context.ts";
import { format } from "../../i18n/locale.ts";
import { twoStepText } from "../../i18n/two-step-text.ts";
import { twoStepRecoveryText } from "../../i18n/two-step-text-recovery.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../../views/forms.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { maskedPhone } from "../../views/phone-number.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import { isPasskeyOfferedAt } from "../passkeys/sign-in.ts";
import { passkeySecondStepBlock } from "../passkeys/ui.ts";
import {
  type FormState,
  methodName,
  minutesToWait,
  withRetryAfter,
} from "../two-step-settings/pages-shared.ts";
import { challengePages } from "./challenge-browser.ts";
import { setTrustedDeviceCookie } from "./routes.ts";
import { resendSecondFactor, switchSecondFactor, verifySecondFactor } from "./second-factor.ts";

/**
 * The sign-in's second step as a page: "Enter the security code" (texted, read out by a call, or
 * from the app), "Don't ask for codes on this browser", resend, another method, a recovery code.
 * The sign-in page sends people here with the challenge id; a session exists only once a code passes.
 */
type ChallengeRequest = FastifyRequest<{
  Params: { id: string };
  Querystring: { return_to?: string; use?: string; resent?: string };
}>;

/** A challenge that can still take a code: the method it waits for, and the others. */
type ChallengeView = { id: string; current: MethodRow; others: MethodRow[]; passkey: boolean };

function challengePath(id: string): string {
  return `/sign-in/two-step/${encodeURIComponent(id)}`;
}

function pageUrl(id: string, returnTo: string, extra: Record<string, string> = {}): string {
  return `${challengePath(id)}?${new URLSearchParams({ return_to: returnTo, ...extra }).toString()}`;
}

/** Reads the challenge the way second-factor.ts does: unknown, finished or expired ones end here. */
async function findChallenge(deps: Deps, rawId: string): Promise<ChallengeView | FlowFailure> {
  const id = rawId.slice(0, 64);
  const flow = await deps.db
    .selectFrom("sign_in_flow")
    .select(["id", "state", "expires_at", "account_id", "method_id"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!flow || flow.state === "completed") return failure("challenge_not_found");
  if (flow.state === "expired" || flow.expires_at <= deps.clock.now().toISOString())
    return failure("challenge_expired");
  if (flow.state !== "second_factor_required") return failure("challenge_not_found");
  const methods = await listActiveMethods(deps.db, flow.account_id);
  const current = methods.find((m) => m.id === flow.method_id);
  if (!current) return failure("challenge_not_found");
  const passkey = await isPasskeyOfferedAt(deps, id);
  return { id, current, others: methods.filter((m) => m.id !== current.id), passkey };
}

type ChallengeForm = FormState & { useRecovery: boolean; returnTo: string; notice?: string };

function intro(locale: Locale, method: MethodRow, useRecovery: boolean): string {
  const t = twoStepText(locale).challenge;
  if (useRecovery) return t.recovery;
  if (method.method === "totp") return t.app;
  return format(method.method === "sms" ? t.sentSms : t.sentVoice, {
    phone: maskedPhone(method.phone ?? ""),
  });
}

function renderChallenge(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  view: ChallengeView,
  form: ChallengeForm,
): FastifyReply {
  const t = twoStepText(locale).challenge;
  const { current } = view;
  const action = challengePath(view.id);
  const hidden = html`${csrfField(csrfToken)}<input type="hidden" name="return_to" value="${form.returnTo}">`;
  const codeField = form.useRecovery
    ? field({
        name: "code",
        label: t.recoveryCode,
        hint: t.recoveryHint,
        autocomplete: "off",
        required: true,
        autofocus: true,
        maxlength: 32,
        errors: form.errors,
      })
    : field({
        name: "code",
        label: t.code,
        hint: t.codeHint,
        autocomplete: "one-time-code",
        inputmode: "numeric",
        required: true,
        autofocus: true,
        maxlength: 12,
        errors: form.errors,
      });
  const isPhone = current.method !== "totp";
  const switchTo = (m: MethodRow): SafeHtml =>
    html`<li><form method="post" action="${action}/switch">${hidden}<input type="hidden" name="method_id" value="${m.id}"><button type="submit" class="link">${format(t.use, { method: methodName(locale, m) })}</button></form></li>`;
  const options = html`<ul class="plain">
  ${form.useRecovery ? html`<li><a href="${pageUrl(view.id, form.returnTo)}">${format(t.use, { method: methodName(locale, current) })}</a></li>` : null}
  ${view.others.map(switchTo)}
  ${form.useRecovery ? null : html`<li><a href="${pageUrl(view.id, form.returnTo, { use: "recovery" })}">${t.useRecovery}</a></li>`}
  <li><a href="${challengePath(view.id)}/recovery?return_to=${encodeURIComponent(form.returnTo)}">${twoStepRecoveryText(locale).link}</a></li>
</ul>`;
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${intro(locale, current, form.useRecovery)}</p>
<form method="post" action="${action}" novalidate>
  ${hidden}
  ${form.useRecovery ? html`<input type="hidden" name="method" value="recovery_code">` : html`<input type="hidden" name="method_id" value="${current.id}">`}
  ${codeField}
  <div class="checkbox"><input type="checkbox" id="trust_device" name="trust_device" value="1" aria-describedby="trust-hint"><label for="trust_device">${t.trust}<br><span class="hint" id="trust-hint">${t.trustHint}</span></label></div>
  <button type="submit" class="wide">${t.submit}</button>
</form>
${view.passkey ? passkeySecondStepBlock(locale, view.id, form.returnTo) : null}
<div class="links">
  <h2>${form.useRecovery ? t.other : isPhone ? t.noCode : t.noApp}</h2>
  ${
    isPhone && !form.useRecovery
      ? html`<form method="post" action="${action}/resend" class="resend">${hidden}<button type="submit" class="secondary">${t.resend}</button></form>`
      : null
  }
  ${options}
</div>
</div>`;
  return sendPage(reply, status, {
    locale,
    title: t.title,
    path: pageUrl(view.id, form.returnTo, form.useRecovery ? { use: "recovery" } : {}),
    body,
    ...(form.notice ? { notice: form.notice } : {}),
  });
}

/** A challenge that ended (expired, too many wrong codes, unknown): say why, and lead back to sign-in. */
function sendEnded(reply: FastifyReply, locale: Locale, ended: FlowFailure, returnTo: string): FastifyReply {
  const t = twoStepText(locale).challenge;
  const message = ended.code === "invalid_code" ? t.exhausted : errorMessage(ended.code, locale, ended);
  const signIn = `/sign-in?return_to=${encodeURIComponent(returnTo)}`;
  const body = html`<div class="card">
<h1>${t.endedTitle}</h1>
<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${message}</p></div>
<a class="button wide" href="${signIn}">${t.signInAgain}</a>
</div>`;
  const status = ended.code === "invalid_code" ? errorStatuses.challenge_expired : errorStatuses[ended.code];
  return sendPage(withRetryAfter(reply, ended), status, { locale, title: t.endedTitle, path: signIn, body });
}

function wrongCode(locale: Locale, f: FlowFailure, useRecovery: boolean): FieldErrors {
  const attemptsLeft = f.extra?.attemptsLeft ?? 0;
  return {
    code: useRecovery
      ? format(twoStepText(locale).challenge.wrongRecovery, { attemptsLeft })
      : errorMessage(f.code, locale, f),
  };
}

export function registerTwoStepSignInPage(app: FastifyInstance, deps: Deps): void {
  const token = (request: FastifyRequest, reply: FastifyReply): string =>
    ensureCsrfToken(request, reply, deps.config, deps.random);
  const returnOf = (request: FastifyRequest): string =>
    safeReturnTarget(formField(request, "return_to"), deps.config.allowedOrigins);
  // Another browser learns nothing: the same page as for a challenge that does not exist.
  const isOfThisBrowser = (request: ChallengeRequest): boolean =>
    isFlowOfThisBrowser(deps.config, request, challengePages, request.params.id.slice(0, 64));
  const notThisBrowser = failure("challenge_not_found");

  app.get("/sign-in/two-step/:id", async (request: ChallengeRequest, reply) => {
    const locale = request.locale;
    const returnTo = safeReturnTarget(request.query.return_to, deps.config.allowedOrigins);
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!isOfThisBrowser(request)) return sendEnded(reply, locale, notThisBrowser, returnTo);
    const view = await findChallenge(deps, request.params.id);
    if ("ok" in view) return sendEnded(reply, locale, view, returnTo);
    return renderChallenge(reply, locale, token(request, reply), 200, view, {
      errors: {},
      returnTo,
      useRecovery: request.query.use === "recovery",
      ...(request.query.resent ? { notice: twoStepText(locale).challenge.resent } : {}),
    });
  });

  app.post("/sign-in/two-step/:id", async (request: ChallengeRequest, reply) => {
    const locale = request.locale;
    const returnTo = returnOf(request);
    const path = challengePath(request.params.id);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, path);
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!isOfThisBrowser(request)) return sendEnded(reply, locale, notThisBrowser, returnTo);
    const useRecovery = formField(request, "method") === "recovery_code";
    const methodId = formField(request, "method_id").slice(0, 64);
    const result = await verifySecondFactor(
      deps,
      request.params.id.slice(0, 64),
      {
        code: formField(request, "code").slice(0, 32),
        ...(useRecovery ? { method: "recovery_code" } : methodId ? { methodId } : {}),
        trustDevice: formField(request, "trust_device") === "1",
      },
      requestMeta(request),
    );
    if (result.ok) {
      releaseFlowFromBrowser(deps.config, reply, challengePages, request.params.id);
      setSessionCookie(reply, deps.config, result.token, result.session);
      if (result.trustedDeviceToken) setTrustedDeviceCookie(reply, deps.config, result.trustedDeviceToken);
      return reply.redirect(returnTo, 303);
    }
    const view = await findChallenge(deps, request.params.id);
    // A wrong code with tries left: the same page, the error beside the field.
    if (result.code === "invalid_code" && !("ok" in view)) {
      return renderChallenge(reply, locale, token(request, reply), errorStatuses[result.code], view, {
        errors: wrongCode(locale, result, useRecovery),
        returnTo,
        useRecovery,
      });
    }
    return sendEnded(reply, locale, result, returnTo);
  });

  app.post("/sign-in/two-step/:id/resend", async (request: ChallengeRequest, reply) => {
    const locale = request.locale;
    const returnTo = returnOf(request);
    const id = request.params.id.slice(0, 64);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, challengePath(id));
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!isOfThisBrowser(request)) return sendEnded(reply, locale, notThisBrowser, returnTo);
    const result = await resendSecondFactor(deps, id, requestMeta(request));
    if (result.ok) return reply.redirect(pageUrl(id, returnTo, { resent: "1" }), 303);
    const view = await findChallenge(deps, id);
    if ("ok" in view) return sendEnded(reply, locale, view, returnTo);
    if (result.code !== "too_many_attempts") return reply.redirect(pageUrl(id, returnTo), 303);
    // The cooldown: the code already sent still works, so stay on the page and say how long to wait.
    const general = format(twoStepText(locale).challenge.resendWait, { minutes: minutesToWait(result) });
    return renderChallenge(withRetryAfter(reply, result), locale, token(request, reply), 429, view, {
      errors: {},
      general,
      problem: "too_many_attempts",
      returnTo,
      useRecovery: false,
    });
  });

  app.post("/sign-in/two-step/:id/switch", async (request: ChallengeRequest, reply) => {
    const locale = request.locale;
    const returnTo = returnOf(request);
    const id = request.params.id.slice(0, 64);
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, challengePath(id));
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    if (!isOfThisBrowser(request)) return sendEnded(reply, locale, notThisBrowser, returnTo);
    const view = await findChallenge(deps, id);
    if ("ok" in view) return sendEnded(reply, locale, view, returnTo);
    const target = view.others.find((m) => m.id === formField(request, "method_id"));
    if (!target) return reply.redirect(pageUrl(id, returnTo), 303);
    const result = await switchSecondFactor(
      deps,
      id,
      { method: target.method, methodId: target.id },
      requestMeta(request),
    );
    if (result.ok) return reply.redirect(pageUrl(id, returnTo), 303);
    if (result.code !== "too_many_attempts") return sendEnded(reply, locale, result, returnTo);
    // The challenge moved to the method even though its code could not be sent (budgets).
    const moved = await findChallenge(deps, id);
    if ("ok" in moved) return sendEnded(reply, locale, moved, returnTo);
    return renderChallenge(withRetryAfter(reply, result), locale, token(request, reply), 429, moved, {
      errors: {},
      general: errorMessage(result.code, locale, result),
      problem: result.code,
      returnTo,
      useRecovery: false,
    });
  });
}
