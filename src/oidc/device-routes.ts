import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Deps } from "../deps.ts";
import { ensureCsrfToken } from "../http/csrf.ts";
import { checkFormToken, formField, sendFormExpired, sendPage } from "../http/pages.ts";
import { loadSession } from "../http/request-context.ts";
import { deviceText } from "../i18n/device-text.ts";
import { format } from "../i18n/locale.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { findClient } from "./clients.ts";
import {
  answerDeviceCode,
  displayUserCode,
  type FoundCode,
  findTypedCode,
  scopesOf,
} from "./device-codes.ts";
import {
  confirmPage,
  deviceAnsweredPage,
  devicePath,
  deviceTwoStepRequiredPage,
  enterCodePage,
} from "./device-pages.ts";
import type { OidcService } from "./provider.ts";

/**
 * The verification URI of the Device Authorization Grant (RFC 8628, section 3.3): Mamori's pages
 * at the path oidc-provider publishes (`verification_uri`, /oidc/device), answered here before the
 * provider sees the request. The person logs in first (two-step too, when it is on), enters the
 * code, sees which app on which device asks and what it gets, and allows or refuses.
 */
type DeviceQuery = { Querystring: { user_code?: unknown } };

/**
 * Signed in, with two-step proven when the account has it on: else the way there (the sign-in or
 * the step-up page, back here after). A session without its second factor (a trusted browser's)
 * never hands a device a sign-in.
 */
async function signedInHere(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  returnTo: string,
): Promise<AuthenticatedSession | undefined> {
  const auth = await loadSession(request, deps);
  if (!auth) {
    reply.redirect(`/sign-in?return_to=${encodeURIComponent(returnTo)}`, 303);
    return undefined;
  }
  if (auth.account.two_step_enabled_at && auth.session.aal < 2) {
    reply.redirect(`/account/security/step-up?return_to=${encodeURIComponent(returnTo)}`, 303);
    return undefined;
  }
  return auth;
}

function sendCodeProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Deps,
  auth: AuthenticatedSession,
  found: Exclude<FoundCode, { ok: true }>,
  typed: string,
): FastifyReply {
  const t = deviceText(request.locale).errors;
  const error =
    found.reason === "too_many"
      ? format(t.too_many, { minutes: String(Math.max(1, Math.ceil(found.retryAfterSeconds / 60))) })
      : t[found.reason];
  if (found.reason === "too_many") reply.header("retry-after", String(found.retryAfterSeconds));
  const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
  return sendPage(
    reply,
    found.reason === "too_many" ? 429 : 400,
    enterCodePage({ locale: request.locale, csrfToken, email: auth.account.email, value: typed, error }),
  );
}

export function registerDeviceRoutes(app: FastifyInstance, deps: Deps, oidc: OidcService): void {
  app.get<DeviceQuery>(devicePath, { schema: { hide: true } }, async (request, reply) => {
    const prefilled =
      typeof request.query.user_code === "string" && request.query.user_code.length <= 40
        ? request.query.user_code
        : undefined;
    const here = prefilled ? `${devicePath}?user_code=${encodeURIComponent(prefilled)}` : devicePath;
    const auth = await signedInHere(deps, request, reply, here);
    if (!auth) return reply;
    const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
    return sendPage(
      reply,
      200,
      enterCodePage({
        locale: request.locale,
        csrfToken,
        email: auth.account.email,
        ...(prefilled === undefined ? {} : { value: prefilled }),
      }),
    );
  });

  app.post(devicePath, { schema: { hide: true } }, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, devicePath);
    const auth = await signedInHere(deps, request, reply, devicePath);
    if (!auth) return reply;
    const typed = formField(request, "user_code").slice(0, 40);
    const provider = await oidc.provider();
    const found = await findTypedCode(deps, provider, typed, request.ip);
    if (!found.ok) return sendCodeProblem(request, reply, deps, auth, found, typed);
    const client = await findClient(deps.db, found.code.clientId);
    const clientName = client?.name ?? deviceText(request.locale).aDevice;
    if (client?.require_two_step === 1 && auth.session.aal < 2) {
      return sendPage(reply, 403, deviceTwoStepRequiredPage(request.locale, clientName));
    }
    const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
    return sendPage(
      reply,
      200,
      confirmPage({
        locale: request.locale,
        csrfToken,
        clientName,
        email: auth.account.email,
        userCode: displayUserCode(found.userCode),
        scopes: scopesOf(found.code),
        device: found.code.deviceInfo,
      }),
    );
  });

  app.post(`${devicePath}/confirm`, { schema: { hide: true } }, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, devicePath);
    const auth = await signedInHere(deps, request, reply, devicePath);
    if (!auth) return reply;
    const decision = formField(request, "decision");
    const typed = formField(request, "user_code").slice(0, 40);
    if (decision !== "allow" && decision !== "deny") {
      const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
      return sendPage(
        reply,
        400,
        enterCodePage({ locale: request.locale, csrfToken, email: auth.account.email, value: typed }),
      );
    }
    const provider = await oidc.provider();
    // The code is looked up again, under the same limits: this form is another way to try codes.
    const found = await findTypedCode(deps, provider, typed, request.ip);
    if (!found.ok) return sendCodeProblem(request, reply, deps, auth, found, typed);
    const client = await findClient(deps.db, found.code.clientId);
    const clientName = client?.name ?? deviceText(request.locale).aDevice;
    const allow = decision === "allow";
    if (allow && client?.require_two_step === 1 && auth.session.aal < 2) {
      return sendPage(reply, 403, deviceTwoStepRequiredPage(request.locale, clientName));
    }
    if (!(await answerDeviceCode(deps, provider, found.code, auth, allow))) {
      return sendCodeProblem(request, reply, deps, auth, { ok: false, reason: "used" }, typed);
    }
    return sendPage(reply, 200, deviceAnsweredPage(request.locale, clientName, allow));
  });
}
