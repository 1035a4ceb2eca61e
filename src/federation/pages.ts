import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { handChallengeToBrowser } from "../flows/sign-in/challenge-browser.ts";
import { cookieName } from "../http/cookie-names.ts";
import { ensureCsrfToken } from "../http/csrf.ts";
import { errorMessage } from "../http/errors.ts";
import {
  type BrowserBoundFlow,
  bindFlowToBrowser,
  isFlowOfThisBrowser,
  releaseFlowFromBrowser,
} from "../http/flow-browser.ts";
import {
  answeredWithMaintenance,
  checkFormToken,
  formField,
  safeReturnPath,
  safeReturnTarget,
  sendFormExpired,
  sendPage,
  withRetryAfter,
} from "../http/pages.ts";
import { loadSession, requestMeta, setSessionCookie } from "../http/request-context.ts";
import { federationText } from "../i18n/federation-text.ts";
import { isRecentlyAuthenticated } from "../session/sessions.ts";
import { trustedDeviceCookieName } from "../session/trusted-devices.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../views/forms.ts";
import { html } from "../views/html.ts";
import { findWaitingFlow, sendEmailCode, verifyEmailCode } from "./email-step.ts";
import type { FederationProvider } from "./federation-config.ts";
import {
  type FederationOutcome,
  type FederationRefusal,
  finishFederation,
  redirectUriFor,
  startFederation,
} from "./federation-flow.ts";

/**
 * The trip to a provider belongs to the browser that started it: the flow's id (the OAuth state)
 * has a cookie of its own, a MAC of the id (src/http/flow-browser.ts), and the callback and the
 * email step refuse a browser without it. Attack: someone starts a sign-in with their own LINE
 * account and sends the callback URL (state and code) to a victim, who would be signed in to the
 * attacker's account (login CSRF) — or a callback URL read from a shared computer's history.
 */
export const federationPages: BrowserBoundFlow = {
  cookie: "mamori_federation",
  path: "/sign-in/federation",
  purpose: "federation-flow-browser",
};

export const methodsPath = "/account/security/sign-in-methods";

/**
 * The name Apple posts beside the code on the first authorization only (`user`, JSON:
 * {"name":{"firstName","lastName"}}): never in the ID token, never again. Japanese order.
 */
function appleName(posted: string): string | undefined {
  if (!posted || posted.length > 2000) return undefined;
  try {
    const user = JSON.parse(posted) as { name?: { firstName?: unknown; lastName?: unknown } };
    const parts = [user.name?.lastName, user.name?.firstName].filter(
      (p): p is string => typeof p === "string" && p.trim() !== "",
    );
    return parts.length > 0 ? parts.join(" ") : undefined;
  } catch {
    return undefined;
  }
}

function providerNamed(deps: Deps, name: string): FederationProvider | undefined {
  return deps.config.federation.providers.find((p) => p.name === name);
}

const refusalStatus: Record<FederationRefusal, number> = {
  flow_not_found: 403,
  cancelled: 400,
  refused: 400,
  unavailable: 503,
  email_in_use: 409,
  identity_in_use: 409,
  account_suspended: 403,
  account_closed: 403,
  country_not_allowed: 403,
  too_many_attempts: 429,
};

export function sendRefusal(
  reply: FastifyReply,
  locale: Locale,
  reason: FederationRefusal,
  retryAfterSeconds?: number,
): FastifyReply {
  const text = federationText(locale);
  if (retryAfterSeconds !== undefined) reply.header("retry-after", String(retryAfterSeconds));
  const body = html`<div class="card">
<h1>${text.failedTitle}</h1>
<div class="error-summary" role="alert" tabindex="-1" id="error-summary" data-reason="${reason}"><p>${text.refusals[reason]}</p></div>
<a class="button wide" href="/sign-in">${text.backToSignIn}</a>
</div>`;
  return sendPage(reply, refusalStatus[reason], { locale, title: text.failedTitle, path: "/sign-in", body });
}

/** Where a finished trip leads: signed in, the second step, the settings, or the email step. */
function answerOutcome(
  deps: Deps,
  reply: FastifyReply,
  locale: Locale,
  flowId: string,
  outcome: FederationOutcome,
): FastifyReply {
  if (!outcome.ok) {
    releaseFlowFromBrowser(deps.config, reply, federationPages, flowId);
    return sendRefusal(reply, locale, outcome.reason, outcome.retryAfterSeconds);
  }
  if (outcome.kind === "email_needed") {
    return reply.redirect(`/sign-in/federation/email/${encodeURIComponent(outcome.flowId)}`, 303);
  }
  releaseFlowFromBrowser(deps.config, reply, federationPages, flowId);
  if (outcome.kind === "linked") return reply.redirect(`${methodsPath}?done=linked`, 303);
  if (outcome.kind === "reauthenticated") return reply.redirect(outcome.returnTo, 303);
  if (outcome.kind === "two_step") {
    handChallengeToBrowser(deps.config, reply, outcome.challengeId);
    const path = `/sign-in/two-step/${encodeURIComponent(outcome.challengeId)}`;
    return reply.redirect(`${path}?return_to=${encodeURIComponent(outcome.returnTo)}`, 303);
  }
  setSessionCookie(reply, deps.config, outcome.signedIn.token, outcome.signedIn.session);
  return reply.redirect(outcome.returnTo, 303);
}

type EmailForm = {
  flowId: string;
  label: string;
  email: string;
  codeSent: boolean;
  errors: FieldErrors;
  general?: string;
};

function renderEmailStep(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: EmailForm,
): FastifyReply {
  const text = federationText(locale);
  const action = `/sign-in/federation/email/${encodeURIComponent(form.flowId)}`;
  const body = form.codeSent
    ? html`<div class="card">
<h1>${text.codeTitle}</h1>
${errorSummary(locale, form.errors, form.general)}
<p>${text.codeIntro(form.email)}</p>
<form method="post" action="${action}/code" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "code", label: text.code, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 6, pattern: "[0-9]*", errors: form.errors })}
  <button type="submit" class="wide">${text.verify}</button>
</form>
<div class="links"><p><a href="${action}">${text.otherEmail}</a></p></div>
</div>`
    : html`<div class="card">
<h1>${text.emailTitle}</h1>
${errorSummary(locale, form.errors, form.general)}
<p>${text.emailIntro(form.label)}</p>
<form method="post" action="${action}" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "email", label: text.email, type: "email", value: form.email, autocomplete: "email", inputmode: "email", required: true, autofocus: true, maxlength: 254, errors: form.errors })}
  <button type="submit" class="wide">${text.sendCode}</button>
</form>
</div>`;
  return sendPage(reply, status, {
    locale,
    title: form.codeSent ? text.codeTitle : text.emailTitle,
    path: "/sign-in",
    body,
  });
}

export function registerFederationPages(app: FastifyInstance, deps: Deps): void {
  if (deps.config.federation.providers.length === 0) return;

  // Start: a POST with the form token (sign-in and sign-up pages, or ログイン方法 to link one).
  app.post(
    "/sign-in/federation/:provider",
    async (request: FastifyRequest<{ Params: { provider: string } }>, reply) => {
      const locale = request.locale;
      const provider = providerNamed(deps, request.params.provider);
      if (!provider) return sendRefusal(reply, locale, "flow_not_found");
      if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-in");
      if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
      const purposeField = formField(request, "purpose");
      const purpose = purposeField === "link" || purposeField === "reauth" ? purposeField : "sign_in";
      let signedIn: { accountId: string; sessionId: string } | null = null;
      let returnTo = safeReturnTarget(formField(request, "return_to"), deps.config.allowedOrigins);
      if (purpose !== "sign_in") {
        // Linking adds a way into the account: only its signed-in owner, recently proven, may do it.
        const auth = await loadSession(request, deps);
        if (!auth) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(methodsPath)}`, 303);
        const recent = isRecentlyAuthenticated(
          auth.session,
          deps.clock.now(),
          deps.config.limits.reauthenticationWindowSeconds,
        );
        if (purpose === "link" && !recent)
          return reply.redirect(
            `/account/security/reauthenticate?return_to=${encodeURIComponent(methodsPath)}`,
            303,
          );
        signedIn = { accountId: auth.account.id, sessionId: auth.session.id };
        returnTo =
          purpose === "link"
            ? methodsPath
            : safeReturnPath(formField(request, "return_to"), "/account/security");
      }
      const started = await startFederation(deps, provider, {
        purpose,
        signedIn,
        returnTo,
        keepSignedIn: formField(request, "keep_signed_in") === "1",
        locale,
        ip: requestMeta(request).ip,
      });
      if (!started.ok) return sendRefusal(reply, locale, started.reason, started.retryAfterSeconds);
      bindFlowToBrowser(
        deps.config,
        reply,
        federationPages,
        started.flowId,
        provider.responseMode === "form_post",
      );
      return reply.redirect(started.url.href, 303);
    },
  );

  /** The callback, whichever way it came: refused unless this browser started the flow `state`. */
  async function callback(
    request: FastifyRequest,
    reply: FastifyReply,
    provider: FederationProvider | undefined,
    state: unknown,
    answer: (provider: FederationProvider) => URL | Request,
    postedName?: string,
  ): Promise<FastifyReply> {
    const locale = request.locale;
    if (
      !provider ||
      typeof state !== "string" ||
      !isFlowOfThisBrowser(deps.config, request, federationPages, state)
    )
      return sendRefusal(reply, locale, "flow_not_found");
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    const outcome = await finishFederation(deps, provider, state, answer(provider), requestMeta(request), {
      trustedDeviceToken: request.cookies[cookieName(deps.config, trustedDeviceCookieName)],
      sessionId: (await loadSession(request, deps))?.session.id,
      postedName,
    });
    return answerOutcome(deps, reply, locale, state, outcome);
  }

  app.get(
    "/sign-in/federation/:provider/callback",
    async (
      request: FastifyRequest<{ Params: { provider: string }; Querystring: Record<string, unknown> }>,
      reply,
    ) => {
      const provider = providerNamed(deps, request.params.provider);
      // A form_post provider never answers in a query: such a GET is not its answer.
      const usable = provider?.responseMode === "query" ? provider : undefined;
      return callback(request, reply, usable, request.query.state, (p) => {
        const query = request.url.indexOf("?");
        const currentUrl = new URL(redirectUriFor(deps, p));
        currentUrl.search = query === -1 ? "" : request.url.slice(query);
        return currentUrl;
      });
    },
  );

  // Sign in with Apple's answer: a POST from appleid.apple.com (response_mode=form_post). The
  // origin check lets this exact path in (src/http/csrf.ts); the state and this browser's
  // SameSite=None flow cookie bind it instead, as the query does for the others.
  app.post(
    "/sign-in/federation/:provider/callback",
    async (request: FastifyRequest<{ Params: { provider: string } }>, reply) => {
      const provider = providerNamed(deps, request.params.provider);
      const usable = provider?.responseMode === "form_post" ? provider : undefined;
      const fields = new URLSearchParams();
      for (const name of ["code", "state", "error", "error_description", "iss"]) {
        const value = formField(request, name);
        if (value) fields.set(name, value.slice(0, 4096));
      }
      return callback(
        request,
        reply,
        usable,
        fields.get("state") ?? undefined,
        (p) =>
          new Request(redirectUriFor(deps, p), {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: fields,
          }),
        appleName(formField(request, "user")),
      );
    },
  );

  // No verified email from the provider: the person proves one (./email-step.ts).
  app.get(
    "/sign-in/federation/email/:id",
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const locale = request.locale;
      const id = request.params.id;
      if (!isFlowOfThisBrowser(deps.config, request, federationPages, id))
        return sendRefusal(reply, locale, "flow_not_found");
      const flow = await findWaitingFlow(deps, id);
      if ("ok" in flow) return sendRefusal(reply, locale, "flow_not_found");
      const provider = providerNamed(deps, flow.provider);
      if (!provider) return sendRefusal(reply, locale, "flow_not_found");
      const token = ensureCsrfToken(request, reply, deps.config, deps.random);
      return renderEmailStep(reply, locale, token, 200, {
        flowId: id,
        label: provider.label,
        email: flow.email ?? "",
        codeSent: false,
        errors: {},
      });
    },
  );

  app.post(
    "/sign-in/federation/email/:id",
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const locale = request.locale;
      const id = request.params.id;
      if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-in");
      if (!isFlowOfThisBrowser(deps.config, request, federationPages, id))
        return sendRefusal(reply, locale, "flow_not_found");
      const flow = await findWaitingFlow(deps, id);
      if ("ok" in flow) return sendRefusal(reply, locale, "flow_not_found");
      const provider = providerNamed(deps, flow.provider);
      if (!provider) return sendRefusal(reply, locale, "flow_not_found");
      const token = ensureCsrfToken(request, reply, deps.config, deps.random);
      const email = formField(request, "email").slice(0, 254);
      const sent = await sendEmailCode(deps, id, email, requestMeta(request));
      const form = { flowId: id, label: provider.label, email, errors: {} as FieldErrors };
      if (!sent.ok) {
        const message = errorMessage(sent.code, locale, sent);
        const errors: FieldErrors = sent.field ? { [sent.field]: message } : {};
        return renderEmailStep(
          withRetryAfter(reply, sent),
          locale,
          token,
          sent.code === "too_many_attempts" ? 429 : 400,
          {
            ...form,
            codeSent: false,
            errors,
            ...(sent.field ? {} : { general: message }),
          },
        );
      }
      return renderEmailStep(reply, locale, token, 200, { ...form, email: sent.email, codeSent: true });
    },
  );

  app.post(
    "/sign-in/federation/email/:id/code",
    async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const locale = request.locale;
      const id = request.params.id;
      if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-in");
      if (!isFlowOfThisBrowser(deps.config, request, federationPages, id))
        return sendRefusal(reply, locale, "flow_not_found");
      const flow = await findWaitingFlow(deps, id);
      if ("ok" in flow) return sendRefusal(reply, locale, "flow_not_found");
      const provider = providerNamed(deps, flow.provider);
      if (!provider) return sendRefusal(reply, locale, "flow_not_found");
      const token = ensureCsrfToken(request, reply, deps.config, deps.random);
      const result = await verifyEmailCode(
        deps,
        provider,
        id,
        formField(request, "code").slice(0, 32),
        requestMeta(request),
      );
      if ("code" in result) {
        const message = errorMessage(result.code, locale, result);
        return renderEmailStep(
          withRetryAfter(reply, result),
          locale,
          token,
          result.code === "too_many_attempts" ? 429 : 400,
          {
            flowId: id,
            label: provider.label,
            email: flow.email ?? "",
            codeSent: true,
            errors: { code: message },
          },
        );
      }
      return answerOutcome(deps, reply, locale, id, result);
    },
  );
}
