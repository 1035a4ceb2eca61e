import { fileURLToPath } from "node:url";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { registerActivityPages } from "./account/activity-page.ts";
import { registerAccountClosingPages } from "./account/closing-pages.ts";
import { registerAccountClosingRoutes } from "./account/closing-routes.ts";
import { registerConnectedAppsPages } from "./account/connected-apps-page.ts";
import { registerConnectedAppsRoutes } from "./account/connected-apps-routes.ts";
import { registerEmailUndoPage } from "./account/email-undo-page.ts";
import { registerAccountPages } from "./account/pages.ts";
import { registerPasswordChangePage } from "./account/password-page.ts";
import { registerProfilePages } from "./account/profile-pages.ts";
import { registerProfileRoutes } from "./account/profile-routes.ts";
import { registerSecurityRoutes } from "./account/security-routes.ts";
import { registerTrustedDevicePages } from "./account/trusted-devices-page.ts";
import { registerWelcomePage } from "./account/welcome-page.ts";
import type { Locale } from "./config/config.ts";
import { registerDevOutboxRoutes } from "./courier/dev-outbox-routes.ts";
import { isDatabaseUnavailable } from "./db/database-unavailable.ts";
import type { Deps } from "./deps.ts";
import { registerSignInMethodsPages } from "./federation/methods-page.ts";
import { registerFederationPages } from "./federation/pages.ts";
import { registerEmailReminderPages } from "./flows/email-reminder/pages.ts";
import { registerEmailReminderRoutes } from "./flows/email-reminder/routes.ts";
import { registerPasskeyScript } from "./flows/passkeys/browser-script.ts";
import { registerPasskeyPages } from "./flows/passkeys/pages.ts";
import { registerPasskeyRoutes } from "./flows/passkeys/routes.ts";
import { registerPasswordResetPages } from "./flows/password-reset/pages.ts";
import { registerPasswordResetRoutes } from "./flows/password-reset/routes.ts";
import { registerReauthenticationPages } from "./flows/reauthentication/pages.ts";
import { registerRegistrationPages } from "./flows/registration/pages.ts";
import { registerRegistrationRoutes } from "./flows/registration/routes.ts";
import { registerSignInPages } from "./flows/sign-in/pages.ts";
import { registerSignInRoutes } from "./flows/sign-in/routes.ts";
import { registerTwoStepSignInPage } from "./flows/sign-in/two-step-page.ts";
import { registerTwoStepRecoveryPages } from "./flows/two-step-recovery/pages.ts";
import { registerTwoStepRecoveryRoutes } from "./flows/two-step-recovery/routes.ts";
import { registerTwoStepSettingsPages } from "./flows/two-step-settings/pages.ts";
import { registerTwoStepManagePages } from "./flows/two-step-settings/pages-manage.ts";
import { registerTwoStepSetupPages } from "./flows/two-step-settings/pages-setup.ts";
import { registerTwoStepSettingsRoutes } from "./flows/two-step-settings/routes.ts";
import { registerSignInHelpPage } from "./help/sign-in-help.ts";
import { isCrossSiteRequest } from "./http/csrf.ts";
import { ApiError, errorBody, errorMessage } from "./http/errors.ts";
import { registerJsonParser } from "./http/json-body.ts";
import { LazySchemas } from "./http/lazy-schemas.ts";
import { registerNulGuard } from "./http/nul-guard.ts";
import { safeReturnPath, sendPage } from "./http/pages.ts";
import { requestLocale } from "./http/request-context.ts";
import { registerSecurityHeaders } from "./http/security-headers.ts";
import { registerSiteRoutes } from "./http/site-routes.ts";
import { missingFieldMessage } from "./i18n/form-text.ts";
import { negotiateLocale } from "./i18n/locale.ts";
import { pageText } from "./i18n/page-text.ts";
import { registerSessionCheckRoutes } from "./integration/session-check-routes.ts";
import { createOidcService } from "./oidc/provider.ts";
import { isProviderBackChannelRequest, registerOidcRoutes } from "./oidc/routes.ts";
import { registerShopReturn } from "./oidc/shop-return.ts";
import { registerHealthRoutes } from "./operations/health-routes.ts";
import { countHttpRequest } from "./operations/metrics.ts";
import { registerPasswordGeneratorPage } from "./passwords/generator-page.ts";
import { registerPasswordGeneratorRoutes } from "./passwords/generator-routes.ts";
import { registerPasswordStrengthRoutes } from "./passwords/strength-routes.ts";
import { registerSessionRoutes } from "./session/routes.ts";
import { serverWithFastPath, sessionFastPath } from "./session/session-fast-path.ts";
import { registerConsolePages } from "./staff/console-pages.ts";
import { registerConsoleServicePages } from "./staff/console-service-pages.ts";
import { registerStaffDoorPages } from "./staff/staff-pages.ts";
import { ThrottleUnavailableError } from "./throttle/throttle.ts";
import { html } from "./views/html.ts";

// 16 KiB holds any honest request to this API (the longest field is a 4,096-character password).
const bodyLimitBytes = 16 * 1024;

/** Builds the whole application from its dependencies; `main.ts` listens, tests call `inject()`. */
export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const fastPath = sessionFastPath(deps);
  const schemas = new LazySchemas();
  const app = Fastify({
    serverFactory: serverWithFastPath(fastPath),
    schemaController: { compilersFactory: schemas.compilersFactory },
    // pino's Logger is Fastify's logger; the cast only drops pino-specific members from the type.
    loggerInstance: deps.log as FastifyBaseLogger,
    trustProxy:
      typeof deps.config.trustProxy === "boolean" ? deps.config.trustProxy : [...deps.config.trustProxy],
    bodyLimit: bodyLimitBytes,
    ajv: {
      // Unknown fields are an error, not silently dropped; types are never coerced.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
    // A URL Fastify cannot route (bad percent-encoding, an over-long parameter) gets the API's error
    // shape too, not Fastify's own body.
    frameworkErrors: (error, request, reply) => {
      // No hook has run yet (no cookies parsed): the language comes from Accept-Language alone.
      request.locale = negotiateLocale(undefined, request.headers["accept-language"]);
      // Fastify builds this request outside any route, without the decorations' getters.
      Object.defineProperty(request, "brand", {
        value: deps.config.brands[request.locale],
        configurable: true,
      });
      sendError(error, request, reply, deps);
    },
  });

  app.decorate("compileAllSchemas", () => schemas.compileAll());
  app.decorateRequest("locale", "ja");
  // The shop's brand follows the request's language, whenever that is settled.
  app.decorateRequest("brand", {
    getter(this: FastifyRequest) {
      return deps.config.brands[this.locale];
    },
  });
  app.decorateRequest("auth", null);

  await app.register(cookie);
  await app.register(formbody, { bodyLimit: bodyLimitBytes });
  registerJsonParser(app);
  registerSecurityHeaders(app, deps.config);
  registerNulGuard(app);
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Mamori",
        version: "1",
        description:
          "Sign-in and account security. Errors are `{error:{code,message,field?}}`; 429 and 503 carry Retry-After. " +
          "Any endpoint that reads the database may answer 503 `database_unavailable` while the database is down. " +
          "A signed-in endpoint answers 403 `account_suspended` or `account_closed` to a session that ended because its account was suspended or closed. " +
          "Cookie-authenticated changes need a same-origin request (Origin or Sec-Fetch-Site).",
      },
      components: {
        securitySchemes: {
          sessionCookie: { type: "apiKey", in: "cookie", name: deps.config.sessionCookieName },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
    },
  });
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL("../public/", import.meta.url)),
    prefix: "/assets/",
    maxAge: 3_600_000,
  });

  // Callback-style hooks on every request: an async hook costs a promise and a microtask turn.
  app.addHook("onRequest", (request, _reply, done) => {
    request.locale = requestLocale(request, deps.config);
    const crossSite = isCrossSiteRequest(request, deps.config) && !isProviderBackChannelRequest(request.url);
    done(crossSite ? new ApiError("csrf_failed") : undefined);
  });
  // API answers hold accounts, sessions and tokens: no browser or proxy may keep them (RFC 6749 5.1).
  app.addHook("onSend", (request, reply, payload, done) => {
    if (request.url.startsWith("/api/v1/") && !reply.hasHeader("cache-control"))
      reply.header("cache-control", "no-store");
    done(null, payload);
  });

  // Every answer counted for the metrics, by the route's pattern (never its URL: bounded labels).
  app.addHook("onResponse", (request, reply, done) => {
    countHttpRequest({
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
    done();
  });

  app.setErrorHandler((error: FastifyError | ApiError | ThrottleUnavailableError, request, reply) =>
    sendError(error, request, reply, deps),
  );
  app.setNotFoundHandler((request, reply) => sendError(new ApiError("not_found"), request, reply, deps));

  registerShopReturn(app, deps);
  registerHealthRoutes(app, deps);
  registerRegistrationRoutes(app, deps);
  registerSignInRoutes(app, deps);
  registerPasswordResetRoutes(app, deps);
  registerEmailReminderRoutes(app, deps);
  registerSessionRoutes(app, deps);
  registerSessionCheckRoutes(app, deps);
  registerOidcRoutes(app, deps, createOidcService(deps));
  registerSecurityRoutes(app, deps);
  registerStaffDoorPages(app, deps);
  registerConsolePages(app, deps);
  registerConsoleServicePages(app, deps);
  registerProfileRoutes(app, deps);
  registerConnectedAppsRoutes(app, deps);
  registerAccountClosingRoutes(app, deps);
  registerTwoStepSettingsRoutes(app, deps);
  registerTwoStepRecoveryRoutes(app, deps);
  registerPasskeyRoutes(app, deps);
  registerPasskeyScript(app);
  registerPasswordStrengthRoutes(app, deps);
  registerPasswordGeneratorRoutes(app, deps);
  registerPasswordGeneratorPage(app, deps);
  registerSiteRoutes(app, deps);
  registerSignInHelpPage(app, deps);
  registerSignInPages(app, deps);
  registerTwoStepSignInPage(app, deps);
  registerTwoStepRecoveryPages(app, deps);
  registerRegistrationPages(app, deps);
  registerPasswordResetPages(app, deps);
  registerEmailReminderPages(app, deps);
  registerAccountPages(app, deps);
  registerPasswordChangePage(app, deps);
  registerProfilePages(app, deps);
  registerEmailUndoPage(app, deps);
  registerWelcomePage(app, deps);
  registerTrustedDevicePages(app, deps);
  registerActivityPages(app, deps);
  registerAccountClosingPages(app, deps);
  registerConnectedAppsPages(app, deps);
  registerReauthenticationPages(app, deps);
  registerTwoStepSettingsPages(app, deps);
  registerTwoStepSetupPages(app, deps);
  registerTwoStepManagePages(app, deps);
  registerPasskeyPages(app, deps);
  registerFederationPages(app, deps);
  registerSignInMethodsPages(app, deps);
  if (deps.config.devOutbox) registerDevOutboxRoutes(app, deps);
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  return app;
}

// A Redis outage: fail closed, and say when to come back (Redis reconnects within about a second).
const throttleRetryAfterSeconds = 5;
// What a client is told to wait during a database outage: as long as /readyz tells a load balancer.
const databaseRetryAfterSeconds = 5;

function toApiError(error: FastifyError | ApiError | ThrottleUnavailableError, locale: Locale): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ThrottleUnavailableError)
    return new ApiError("throttle_unavailable", { retryAfterSeconds: throttleRetryAfterSeconds });
  // An outage, not a fault of the request: 503 with Retry-After, never 500 (docs/deployment.md).
  if (isDatabaseUnavailable(error))
    return new ApiError("database_unavailable", { retryAfterSeconds: databaseRetryAfterSeconds });
  if (error.validation) {
    const first = error.validation[0];
    const params = (first?.params ?? {}) as Record<string, unknown>;
    const path = first?.instancePath?.replace(/^\//, "").replace(/\//g, ".");
    const field =
      (typeof params.missingProperty === "string" && params.missingProperty) ||
      (typeof params.additionalProperty === "string" && params.additionalProperty) ||
      path ||
      undefined;
    // An empty or missing field asks for it (「パスワードを入力してください。」), same code and field.
    const empty = first?.keyword === "required" || (first?.keyword === "minLength" && params.limit === 1);
    const asked = empty && field ? missingFieldMessage(locale, field) : undefined;
    return new ApiError("invalid_request", {
      ...(field ? { field } : {}),
      ...(asked ? { message: asked } : {}),
    });
  }
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ApiError("payload_too_large");
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new ApiError("unsupported_media_type");
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
    return new ApiError("invalid_request");
  return new ApiError("internal_error");
}

/** Every error leaves as the API's error shape (JSON under /api), or as a page for a browser. */
function sendError(
  raw: FastifyError | ApiError | ThrottleUnavailableError,
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Deps,
): FastifyReply {
  const locale = request.locale ?? requestLocale(request, deps.config);
  const error = toApiError(raw, locale);
  // A store that is down (the database, Redis): an outage to wait out, not a fault of the request.
  const outage = error.code === "database_unavailable" || error.code === "throttle_unavailable";
  if (outage) {
    request.log.warn({ err: raw }, `request failed: ${error.code}`);
  } else if (error.status >= 500 && error.code !== "maintenance") {
    request.log.error({ err: raw }, "request failed");
  }
  if (error.details.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(error.details.retryAfterSeconds));
  const wantsPage =
    !request.url.startsWith("/api/") && request.url !== "/healthz" && request.url !== "/readyz";
  if (wantsPage && outage) {
    // A calm page: what happened in plain words and a way to try again, nothing technical.
    const text = pageText(locale).unavailable;
    const again = request.method === "GET" ? safeReturnPath(request.url, "/") : "/";
    return sendPage(reply, error.status, {
      locale,
      title: text.title,
      path: "/",
      body: html`<div class="card"><h1>${text.title}</h1><p>${errorMessage(error.code, locale)}</p><p><a href="${again}">${text.retry}</a></p></div>`,
    });
  }
  if (wantsPage) {
    const title =
      error.code === "not_found"
        ? pageText(locale).notFound.title
        : errorMessage(error.code, locale, error.details);
    return sendPage(reply, error.status, {
      locale,
      title,
      path: "/",
      body: html`<div class="card"><h1>${title}</h1><p><a href="/">${pageText(locale).notFound.back}</a></p></div>`,
    });
  }
  return reply.code(error.status).header("cache-control", "no-store").send(errorBody(error, locale));
}
