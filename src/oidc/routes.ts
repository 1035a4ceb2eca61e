import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from "fastify";
import type { InteractionDetails, InteractionResults, Provider } from "oidc-provider";
import { oidcMountPath } from "../config/oidc-config.ts";
import type { Deps } from "../deps.ts";
import { ensureCsrfToken } from "../http/csrf.ts";
import { checkFormToken, sendFormExpired, sendPage } from "../http/pages.ts";
import { loadSession } from "../http/request-context.ts";
import { oidcText } from "../i18n/oidc-text.ts";
import { acrOf, amrOf, factorsOf } from "../integration/assurance.ts";
import { isRecentlyAuthenticated, type SessionRow } from "../session/sessions.ts";
import { findClient } from "./clients.ts";
import { registerDeviceRoutes } from "./device-routes.ts";
import {
  consentPage,
  continuingPage,
  interactionPath,
  providerErrorPage,
  twoStepRequiredPage,
} from "./pages.ts";
import { maxAgeSeconds, type OidcService } from "./provider.ts";
import { adaptProviderCookies } from "./provider-cookies.ts";

/**
 * "Sign in with Mamori": oidc-provider answers everything under /oidc (discovery, JWKS, authorize,
 * token, userinfo, revocation, introspection, end session), handed the raw request before Fastify
 * reads its body; the interactions (/oidc/interaction/:uid) are Mamori's own pages, where the
 * person signs in on Mamori's sign-in page, passes two-step verification when the shop demands it,
 * and consents.
 */
type UidParams = { Params: { uid: string } };

// A sign-in asked for anew (prompt=login, max_age=0, or a max_age the session is older than) is
// noted under the interaction's uid, on Mamori's clock, until the interaction expires.
const signInAskedModel = "MamoriSignInAsked";
const signInAskedTtlMs = 30 * 60 * 1000;

const handlers = new WeakMap<Provider, (req: IncomingMessage, res: ServerResponse) => void>();

function callbackOf(provider: Provider): (req: IncomingMessage, res: ServerResponse) => void {
  let handler = handlers.get(provider);
  if (!handler) {
    handler = provider.callback();
    handlers.set(provider, handler);
  }
  return handler;
}

/**
 * Hands a request to the provider: its path without the mount, the headers Mamori already set.
 * The provider builds every URL it publishes (discovery, redirects, its form actions) from the
 * request's host and scheme, so it is told the configured issuer's, and the client's address as
 * Fastify found it under MAMORI_TRUST_PROXY: a forged Host or X-Forwarded-Host never reaches it.
 */
async function forwardToProvider(
  oidc: OidcService,
  issuer: URL,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const provider = await oidc.provider();
  reply.hijack();
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) reply.raw.setHeader(name, value);
  }
  const raw = request.raw;
  raw.headers.host = issuer.host;
  raw.headers["x-forwarded-host"] = issuer.host;
  raw.headers["x-forwarded-proto"] = issuer.protocol.slice(0, -1);
  raw.headers["x-forwarded-for"] = request.ip;
  const url = raw.url ?? oidcMountPath;
  // oidc-provider finds its mount path from originalUrl minus url (as under Express or Koa mount).
  const rest = url.slice(oidcMountPath.length);
  Object.assign(raw, { originalUrl: url, url: rest.startsWith("/") ? rest : `/${rest}` });
  callbackOf(provider)(raw, reply.raw);
}

/**
 * The provider's endpoints a shop's server or app calls directly: they read no cookie (the client
 * authenticates, or proves PKCE or DPoP), so a cross-site request to them forges nothing, and a
 * single-page app on the shop's origin must reach them (CORS: provider.ts, `clientBasedCORS`).
 * Mamori's cross-site check (src/http/csrf.ts) stays on for everything else under /oidc: the
 * interaction forms and the logout confirmation act on the browser's cookies.
 */
const crossSiteEndpoints: ReadonlySet<string> = new Set(
  ["/token", "/token/revocation", "/token/introspection", "/me", "/request"].map(
    (path) => `${oidcMountPath}${path}`,
  ),
);

export function isProviderBackChannelRequest(url: string): boolean {
  const path = url.split("?", 1)[0] ?? "";
  return crossSiteEndpoints.has(path);
}

export function registerOidcRoutes(app: FastifyInstance, deps: Deps, oidc: OidcService): void {
  // Every request the provider answers or reads: its cookies as the browser keeps them (`__Host-`).
  const providerCookies: onRequestHookHandler = (request, reply, done) => {
    adaptProviderCookies(deps.config, request.raw, reply.raw);
    done();
  };
  // The provider reads its own bodies (and limits them to 56 KiB): here no parser touches the stream.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));
    scope.all(oidcMountPath, { schema: { hide: true }, onRequest: providerCookies }, (request, reply) =>
      forwardToProvider(oidc, deps.config.issuer, request, reply),
    );
    scope.all(
      `${oidcMountPath}/*`,
      { schema: { hide: true }, onRequest: providerCookies },
      (request, reply) => forwardToProvider(oidc, deps.config.issuer, request, reply),
    );
  });

  registerDeviceRoutes(app, deps, oidc);

  app.get<UidParams>(
    `${oidcMountPath}/interaction/:uid`,
    { schema: { hide: true }, onRequest: providerCookies },
    async (request, reply) => {
      const found = await interactionOf(oidc, request, reply);
      if (!found) return reply;
      const { provider, details } = found;
      const here = interactionPath(details.uid);
      const auth = await loadSession(request, deps);
      if (!auth) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(here)}`, 303);
      const clientName = await clientNameOf(deps, details, request.locale);

      if (details.prompt.name === "login") {
        if (await mustSignInAgain(deps, details, auth.session)) {
          return reply.redirect(
            `/account/security/reauthenticate?return_to=${encodeURIComponent(here)}`,
            303,
          );
        }
        const demanded = await oidc.demandedAal(details.params.client_id, details.params);
        if (demanded === 2 && auth.session.aal < 2) {
          // Two-step on: prove a code now (step-up), then back here. Off: say what the shop needs.
          if (auth.account.two_step_enabled_at) {
            return reply.redirect(`/account/security/step-up?return_to=${encodeURIComponent(here)}`, 303);
          }
          const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
          return sendPage(
            reply,
            403,
            twoStepRequiredPage({
              locale: request.locale,
              uid: details.uid,
              csrfToken,
              clientName,
              shop: request.brand.name,
            }),
          );
        }
        const login: InteractionResults["login"] = {
          accountId: auth.account.id,
          acr: acrOf(auth.session.aal),
          amr: amrOf(factorsOf(auth.session), auth.session.aal),
          ts: Math.floor(Date.parse(auth.session.authenticated_at) / 1000),
          remember: auth.session.persistent === 1,
        };
        return finish(provider, request, reply, { login }, clientName);
      }

      if (details.prompt.name === "consent") {
        // The consent belongs to the person who signed in for this request, no one else.
        if (details.session?.accountId !== auth.account.id) {
          return finish(provider, request, reply, { error: "login_required" }, clientName);
        }
        const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
        return sendPage(
          reply,
          200,
          consentPage({
            locale: request.locale,
            uid: details.uid,
            csrfToken,
            clientName,
            email: auth.account.email,
            scopes: scopesOf(details),
          }),
        );
      }
      return sendPage(reply, 400, providerErrorPage(request.locale, "interaction_required"));
    },
  );

  app.post<UidParams>(
    `${oidcMountPath}/interaction/:uid/consent`,
    { schema: { hide: true }, onRequest: providerCookies },
    async (request, reply) => {
      const found = await postedInteraction(deps, oidc, request, reply);
      if (!found) return reply;
      const { provider, details } = found;
      const auth = await loadSession(request, deps);
      if (details.prompt.name !== "consent" || !auth || details.session?.accountId !== auth.account.id) {
        return reply.redirect(interactionPath(details.uid), 303);
      }
      const grant = details.grantId
        ? ((await provider.Grant.find(details.grantId)) ??
          new provider.Grant({ accountId: auth.account.id, clientId: details.params.client_id }))
        : new provider.Grant({ accountId: auth.account.id, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (Array.isArray(missing.missingOIDCScope)) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
      if (Array.isArray(missing.missingOIDCClaims)) {
        grant.addOIDCClaims(missing.missingOIDCClaims.filter((c): c is string => typeof c === "string"));
      }
      const grantId = await grant.save();
      const clientName = await clientNameOf(deps, details, request.locale);
      return finish(provider, request, reply, { consent: { grantId } }, clientName);
    },
  );

  app.post<UidParams>(
    `${oidcMountPath}/interaction/:uid/abort`,
    { schema: { hide: true }, onRequest: providerCookies },
    async (request, reply) => {
      const found = await postedInteraction(deps, oidc, request, reply);
      if (!found) return reply;
      const clientName = await clientNameOf(deps, found.details, request.locale);
      return finish(
        found.provider,
        request,
        reply,
        { error: "access_denied", error_description: "the person cancelled the sign-in" },
        clientName,
      );
    },
  );
}

/**
 * Whether the person must prove who they are again before this sign-in completes: with
 * `prompt=login` (and `max_age=0`, which oidc-provider turns into it) always — "the Authorization
 * Server MUST prompt the End-User for reauthentication" (OpenID Connect Core 1.0, 3.1.2.1), with no
 * window in which an earlier sign-in counts as new — and with `max_age` when the session's last
 * authentication is older ("the OP MUST attempt to actively re-authenticate the End-User").
 *
 * Asked once, the request is satisfied only by an authentication after the moment it was asked
 * (noted in the database under the interaction's uid): the reauthentication page returns here, and
 * an earlier sign-in, however recent, does not count. The ID token's auth_time is then the time of
 * that authentication (`login.ts` below).
 */
async function mustSignInAgain(
  deps: Deps,
  details: InteractionDetails,
  session: SessionRow,
): Promise<boolean> {
  const now = deps.clock.now();
  const maxAge = maxAgeSeconds(details.prompt.details.max_age);
  const asked =
    details.prompt.reasons.includes("login_prompt") ||
    (maxAge !== undefined && !isRecentlyAuthenticated(session, now, maxAge));
  if (!asked) return false;
  const askedAt = await signInAskedAt(deps, details.uid, now);
  return Date.parse(session.authenticated_at) <= Date.parse(askedAt);
}

/** When this interaction first asked for a new sign-in (noted now if it had not yet). */
async function signInAskedAt(deps: Deps, uid: string, now: Date): Promise<string> {
  const nowText = now.toISOString();
  await deps.db
    .insertInto("oidc_model")
    .values({
      model: signInAskedModel,
      id: uid,
      payload: JSON.stringify({ askedAt: nowText }),
      grant_id: null,
      client_id: null,
      user_code: null,
      uid: null,
      account_id: null,
      expires_at: new Date(now.getTime() + signInAskedTtlMs).toISOString(),
      consumed_at: null,
    })
    .onConflict((oc) => oc.columns(["model", "id"]).doNothing())
    .execute();
  const row = await deps.db
    .selectFrom("oidc_model")
    .select("payload")
    .where("model", "=", signInAskedModel)
    .where("id", "=", uid)
    .executeTakeFirstOrThrow();
  const payload: unknown = JSON.parse(row.payload);
  const askedAt =
    typeof payload === "object" && payload !== null && "askedAt" in payload ? payload.askedAt : undefined;
  return typeof askedAt === "string" ? askedAt : nowText;
}

/** The interaction of this browser (its cookie) with this uid, or an error page. */
/** A form posted on an interaction page: its form token checked, then the interaction, as `interactionOf`. */
async function postedInteraction(
  deps: Deps,
  oidc: OidcService,
  request: FastifyRequest<UidParams>,
  reply: FastifyReply,
): Promise<{ provider: Provider; details: InteractionDetails } | undefined> {
  if (!checkFormToken(request, deps.config)) {
    sendFormExpired(reply, request.locale, interactionPath(request.params.uid));
    return undefined;
  }
  return interactionOf(oidc, request, reply);
}

async function interactionOf(
  oidc: OidcService,
  request: FastifyRequest<UidParams>,
  reply: FastifyReply,
): Promise<{ provider: Provider; details: InteractionDetails } | undefined> {
  const provider = await oidc.provider();
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(request.raw, reply.raw);
  } catch {
    // Expired, finished, or another browser's: nothing to continue.
    sendPage(reply, 400, providerErrorPage(request.locale, "interaction_expired"));
    return undefined;
  }
  if (details.uid !== request.params.uid) {
    sendPage(reply, 400, providerErrorPage(request.locale, "interaction_expired"));
    return undefined;
  }
  return { provider, details };
}

/**
 * Hands the result to the provider and continues at its authorization endpoint, which sends the
 * browser on to the shop. Not with a redirect: the request may be a form's (sign-in, two-step,
 * consent), and CSP `form-action 'self'` also governs where a form's redirects lead, so a 303
 * chain ending at the shop would be blocked. A `Refresh` header starts a new navigation instead
 * (no script needed), and the page has a link for the rare browser that ignores it.
 */
async function finish(
  provider: Provider,
  request: FastifyRequest,
  reply: FastifyReply,
  result: InteractionResults,
  clientName: string,
): Promise<FastifyReply> {
  const returnTo = await provider.interactionResult(request.raw, reply.raw, result, {
    mergeWithLastSubmission: true,
  });
  // The provider's own authorization endpoint (absolute or not): only its path and query are used.
  const target = new URL(returnTo, "http://mamori.invalid");
  const path = `${target.pathname}${target.search}`;
  reply.header("refresh", `0;url=${path}`);
  return sendPage(reply, 200, continuingPage(request.locale, clientName, path));
}

async function clientNameOf(deps: Deps, details: InteractionDetails, locale: "ja" | "en"): Promise<string> {
  const client = await findClient(deps.db, details.params.client_id);
  return client?.name ?? oidcText(locale).aShop;
}

const knownScopes = new Set(["openid", "email", "profile", "phone", "offline_access"]);

function scopesOf(details: InteractionDetails): string[] {
  const requested = typeof details.params.scope === "string" ? details.params.scope.split(" ") : [];
  return requested.filter((scope) => knownScopes.has(scope));
}
