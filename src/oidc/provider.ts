import { createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Account, Configuration, KoaContext, default as Provider } from "oidc-provider";
import { readCookie } from "../client/mamori-client.ts";
import type { Config } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { cookieName } from "../http/cookie-names.ts";
import { localeCookieName } from "../http/request-context.ts";
import { negotiateLocale } from "../i18n/locale.ts";
import { findAccountById } from "../identity/accounts.ts";
import { type AssuranceLevel, aalOfAcr, acrValues } from "../integration/assurance.ts";
import { authenticateSessionToken } from "../session/session-lookup.ts";
import { type AuthenticatedSession, revokeSession } from "../session/sessions.ts";
import { renderLayout } from "../views/layout.ts";
import { createAdapterFactory } from "./adapter.ts";
import { forgetLogoutTarget, queueLogoutNotice } from "./backchannel-logout.ts";
import { findClient } from "./clients.ts";
import { deviceFlowFeature } from "./device-codes.ts";
import { providerErrorPage, signedOutPage, signOutPage } from "./pages.ts";
import { providerCookieNames } from "./provider-cookies.ts";
import { currentProviderRequest, withProviderRequest } from "./provider-request.ts";
import { rememberShopOnArrival } from "./shop-return.ts";
import { loadSigningKeys, signingKeySetVersion } from "./signing-keys.ts";

/**
 * Mamori's OpenID Connect provider: panva's oidc-provider, configured for shops. Authorization
 * code flow only, PKCE (S256) always, clients registered by the operator (confidential, or public
 * for single-page and phone apps), rotating refresh tokens, DPoP, RP-initiated and back-channel
 * logout, discovery and JWKS. Who is signed in is Mamori's session: the
 * provider's own session follows it (a check below sends the person back through Mamori's
 * sign-in when Mamori's session ended or changed), and `acr`/`amr` come from its factors.
 */
export type OidcService = {
  /** The provider, rebuilt when the published signing keys change (a rotation on any process). */
  provider(): Promise<Provider>;
  /** The assurance level a request to the provider demands: from the client's setting and `acr_values`. */
  demandedAal(clientId: string, params: Record<string, unknown>): Promise<AssuranceLevel>;
  /**
   * Signs a Back-Channel Logout token for the shop and POSTs it to its `backchannel_logout_uri`;
   * throws when the shop does not answer 200 or 204 (the outbox retries). False when the shop is
   * gone or no longer takes logout tokens: nothing to deliver.
   */
  sendLogoutToken(clientId: string, sub: string, sid: string | undefined): Promise<boolean>;
};

const ttlSeconds = {
  AccessToken: 10 * 60,
  AuthorizationCode: 60,
  IdToken: 60 * 60,
  Interaction: 30 * 60,
  // A device's code (RFC 8628): ten minutes to walk to a phone and type eight letters.
  DeviceCode: 10 * 60,
  // The provider's session and grants: a shop's refresh token lives as long as "keep me signed in".
  Session: 14 * 86_400,
  Grant: 90 * 86_400,
  RefreshToken: 14 * 86_400,
};

/**
 * Scopes and the claims each releases (OpenID Connect Core 1.0, section 5.4). Every ID token says
 * how the person signed in (`acr`, `amr`, `auth_time`), asked for or not: a shop must be able to
 * tell a two-step sign-in from a password alone without knowing to request it.
 */
const claimsByScope = {
  openid: ["sub", "acr", "amr", "auth_time"],
  email: ["email", "email_verified"],
  profile: ["name"],
  phone: ["phone_number", "phone_number_verified"],
  acr: null,
  amr: null,
  auth_time: null,
  sid: null,
  iss: null,
};

/** Cookie-signing keys for the provider, derived from MAMORI_SECRET_KEYS (newest first, as they rotate). */
function cookieKeys(secretKeys: readonly Buffer[]): string[] {
  return secretKeys.map((key) => createHmac("sha256", key).update("mamori oidc cookies").digest("base64url"));
}

function localeOf(req: IncomingMessage, config: Config): "ja" | "en" {
  const cookie = readCookie(req.headers.cookie, cookieName(config, localeCookieName));
  return negotiateLocale(cookie, req.headers["accept-language"]);
}

function sendProviderPage(
  ctx: KoaContext,
  config: Config,
  status: number,
  page: ReturnType<typeof signedOutPage>,
): void {
  ctx.status = status;
  ctx.type = "html";
  ctx.set("cache-control", "no-store");
  ctx.body = renderLayout(page, config.brands[page.locale]);
}

/** Mamori's live session of a request to the provider (the browser's cookie), if any. */
export async function mamoriSessionOf(
  deps: Deps,
  req: IncomingMessage,
): Promise<AuthenticatedSession | undefined> {
  const token = readCookie(req.headers.cookie, deps.config.sessionCookieName);
  if (!token) return undefined;
  return authenticateSessionToken(deps.db, { ...deps, limits: deps.config.limits }, token);
}

/**
 * The level a sign-in for this client must reach. `acr_values` is a list of acceptable levels:
 * only when every value Mamori knows is aal2 is two-step demanded. A client registered with
 * `--require-two-step` demands it always, whatever the request says.
 */
export async function demandedAal(
  deps: Deps,
  clientId: string,
  params: Record<string, unknown>,
): Promise<AssuranceLevel> {
  const client = await findClient(deps.db, clientId);
  if (client?.require_two_step === 1) return 2;
  const requested = typeof params.acr_values === "string" ? params.acr_values.split(" ") : [];
  const levels = requested.map(aalOfAcr).filter((level): level is AssuranceLevel => level !== undefined);
  return levels.length > 0 && levels.every((level) => level === 2) ? 2 : 1;
}

type OidcLibrary = typeof import("oidc-provider");

// oidc-provider (with koa and jose) is loaded by the first request to /oidc, not at start: a
// Mamori that no shop signs in through never holds it in memory.
let library: Promise<OidcLibrary> | undefined;
function oidcLibrary(): Promise<OidcLibrary> {
  library ??= import("oidc-provider");
  return library;
}

function buildPolicy(deps: Deps, { interactionPolicy }: OidcLibrary) {
  const { Check, base } = interactionPolicy;
  const policy = base();
  const login = policy.get("login");
  if (!login) throw new Error("oidc-provider's base policy has no login prompt");
  // Every check of the login prompt answers `prompt=none` with login_required (OpenID Connect Core
  // 1.0, section 3.1.2.6: "The Authorization Server requires End-User authentication"): a check
  // added to a prompt after it was built gets no error of its own, and oidc-provider then answers
  // interaction_required, which the spec keeps for interactions that are not a sign-in.
  //
  // max_age is measured on Mamori's clock, the one the sign-in's auth_time comes from (the
  // provider's own check reads the process's): "If the elapsed time is greater than this value, the
  // OP MUST attempt to actively re-authenticate the End-User" (section 3.1.2.1).
  login.checks.remove("max_age");
  login.checks.add(
    new Check("max_age", "End-User authentication could not be obtained", "login_required", (ctx) => {
      const maxAge = maxAgeSeconds(ctx.oidc.params.max_age);
      if (maxAge === undefined || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
      const loginTs = ctx.oidc.session.loginTs;
      if (!ctx.oidc.session.accountId || loginTs === undefined) return Check.REQUEST_PROMPT;
      return deps.clock.now().getTime() - loginTs * 1000 > maxAge * 1000
        ? Check.REQUEST_PROMPT
        : Check.NO_NEED_TO_PROMPT;
    }),
  );
  // The provider's session must be Mamori's current one: signed out of Mamori, signed in as someone
  // else, or signed in again since (a new session) -> through Mamori's sign-in (the interaction).
  login.checks.add(
    new Check("mamori_session", "Mamori's session ended or changed", "login_required", async (ctx) => {
      const mamori = await (currentProviderRequest()?.browserSession() ?? mamoriSessionOf(deps, ctx.req));
      const session = ctx.oidc.session;
      if (!mamori || !session.accountId || mamori.account.id !== session.accountId)
        return Check.REQUEST_PROMPT;
      const createdAt = Math.floor(Date.parse(mamori.session.created_at) / 1000);
      // A new password since the provider's login also means a new login (tokens from the old one
      // are refused by findAccount): invisible to the person, whose Mamori session is live.
      return session.loginTs === undefined ||
        createdAt > session.loginTs ||
        passwordChangedAfter(mamori.account.password_changed_at, session.loginTs)
        ? Check.REQUEST_PROMPT
        : Check.NO_NEED_TO_PROMPT;
    }),
  );
  // A client that demands two-step verification never gets a sign-in without it.
  login.checks.add(
    new Check(
      "mamori_assurance",
      "the client demands two-step verification",
      "login_required",
      async (ctx) => {
        const clientId = ctx.oidc.client?.clientId;
        if (!clientId) return Check.REQUEST_PROMPT;
        const demanded = await demandedAal(deps, clientId, ctx.oidc.params);
        return demanded === 2 && ctx.oidc.session.acr !== acrValues[2]
          ? Check.REQUEST_PROMPT
          : Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  return policy;
}

/**
 * The request's `max_age` in seconds, if it has one: oidc-provider hands it on as the request's
 * string (it has checked it is a non-negative integer; 0 it turns into prompt=login).
 */
export function maxAgeSeconds(value: unknown): number | undefined {
  const seconds = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isSafeInteger(seconds) && seconds >= 0 ? seconds : undefined;
}

/** True when the password changed after `epochSeconds` (an auth_time), compared in whole seconds. */
function passwordChangedAfter(passwordChangedAt: string | null, epochSeconds: number): boolean {
  return passwordChangedAt !== null && Math.floor(Date.parse(passwordChangedAt) / 1000) > epochSeconds;
}

/**
 * The account behind a sign-in or token. `token` is the code or refresh token being used, when
 * there is one: a password changed or reset after that sign-in ends it, as it ends the account's
 * other Mamori sessions (a thief's refresh token must not outlive the owner's new password).
 */
async function findAccount(deps: Deps, sub: string, token: unknown): Promise<Account | undefined> {
  const account = await findAccountById(deps.db, sub);
  // A suspended or closed account gets no new tokens, and its refresh tokens stop working.
  if (account?.status !== "active") return undefined;
  const authTime =
    typeof token === "object" && token !== null && "authTime" in token && typeof token.authTime === "number"
      ? token.authTime
      : undefined;
  if (authTime !== undefined && passwordChangedAfter(account.password_changed_at, authTime)) return undefined;
  return {
    accountId: account.id,
    async claims() {
      const phoneVerified = account.phone !== null && account.phone_verified_at !== null;
      return {
        sub: account.id,
        email: account.email,
        email_verified: account.email_verified_at !== null,
        name: account.name,
        ...(phoneVerified ? { phone_number: account.phone, phone_number_verified: true } : {}),
      };
    },
  };
}

/** The revocation and introspection policy: the token was issued to the client asking. */
async function ownToken(
  _ctx: KoaContext,
  client: { clientId: string },
  token: { clientId?: unknown },
): Promise<boolean> {
  return token.clientId === client.clientId;
}

/** The logout page oidc-provider asks for: its form's action and token, in Mamori's page. */
function logoutForm(form: string): { action: string; xsrf: string } | undefined {
  const action = /action="([^"]+)"/.exec(form)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1];
  return action && xsrf ? { action, xsrf } : undefined;
}

function providerConfiguration(deps: Deps, keys: readonly object[], oidc: OidcLibrary): Configuration {
  const secure = deps.config.cookieSecure;
  return {
    adapter: createAdapterFactory({
      db: deps.db,
      clock: deps.clock,
      secretKeys: deps.config.secretKeys,
      spent: () => new oidc.errors.InvalidGrant("already used"),
    }),
    findAccount: (_ctx: KoaContext, sub: string, token: unknown) => findAccount(deps, sub, token),
    jwks: { keys },
    claims: claimsByScope,
    scopes: ["openid", "offline_access", "email", "profile", "phone"],
    acrValues: [acrValues[1], acrValues[2]],
    responseTypes: ["code"],
    // Plain "code" flow: the ID token carries the claims of the scopes granted, so a shop needs no
    // second request to show the person's name.
    conformIdTokenClaims: false,
    // PKCE with S256 for every client (RFC 9700, section 2.1.1), confidential ones included.
    pkce: { required: () => true },
    // What a registered client can use, and so what discovery advertises: a shop's secret in the
    // Basic header, or no secret for a public client (`mamori clients create --public`).
    clientAuthMethods: ["client_secret_basic", "none"],
    clientDefaults: {
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "RS256",
    },
    // Refresh tokens for every client allowed the grant. Every code and token ends with the Mamori
    // session it was issued in (revoked; expired too, unless offline_access was granted), the
    // account's suspension or closure, or a new password: adapter.ts reads them back only then.
    issueRefreshToken: async (_ctx: KoaContext, client: { grantTypeAllowed(grant: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    // Every refresh spends the refresh token and returns a new one; a spent one used again ends the
    // whole grant (oidc-provider revokes everything issued under it): whoever copied the token, the
    // thief or the shop, the second use shows it (RFC 9700, section 4.14.2).
    rotateRefreshToken: true,
    ttl: ttlSeconds,
    cookies: {
      keys: cookieKeys(deps.config.secretKeys),
      // `__Host-` in production; the interaction and resume cookies get it in ./provider-cookies.ts.
      names: providerCookieNames(deps.config),
      long: { httpOnly: true, sameSite: "lax", secure, signed: true },
      short: { httpOnly: true, sameSite: "lax", secure, signed: true },
    },
    interactions: {
      policy: buildPolicy(deps, oidc),
      url: (_ctx: KoaContext, interaction: { uid: string }) => `/oidc/interaction/${interaction.uid}`,
    },
    // Cross-origin calls (a single-page app's token request) only from the origins of a public
    // client's own redirect URIs, and to userinfo from a client's; the provider's default, stated.
    clientBasedCORS: (_ctx: KoaContext, origin: string, client: CorsClient) =>
      origin !== "null" &&
      (_ctx.oidc.route === "userinfo" || client.clientAuthMethod === "none") &&
      client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
    // The provider's own outgoing requests (logout tokens) refuse private and loopback addresses
    // (its SSRF guard) in production; outside it a shop on 127.0.0.1 is the usual development setup.
    fetch: (url: string, options: RequestInit & { dispatcher?: unknown }) => {
      if (deps.config.environment === "production") return fetch(url, options);
      const { dispatcher: _guard, ...rest } = options;
      return fetch(url, rest);
    },
    features: {
      devInteractions: { enabled: false },
      // OpenID Connect Back-Channel Logout 1.0 for shops that register a backchannel_logout_uri;
      // the tokens go through the outbox (./backchannel-logout.ts), never straight from a request.
      backchannelLogout: { enabled: true },
      // RFC 9449: a client that sends a DPoP proof gets sender-constrained tokens (oidc-provider's
      // default, stated); a client registered with dpop_bound_access_tokens must.
      dPoP: { enabled: true },
      // A shop may revoke and introspect its own tokens only. Another shop's token is "inactive", and
      // revoking it answers as for an unknown token: nothing tells the caller whose it is.
      revocation: { enabled: true, allowedPolicy: ownToken },
      introspection: { enabled: true, allowedPolicy: ownToken },
      userinfo: { enabled: true },
      // Devices without a keyboard (RFC 8628): the person enters the code on Mamori's own page at
      // the verification URI (/oidc/device, src/oidc/device-routes.ts), never the provider's.
      deviceFlow: deviceFlowFeature,
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContext, form: string) => {
          const parsed = logoutForm(form);
          if (!parsed) throw new Error("oidc-provider's logout form changed shape");
          const locale = localeOf(ctx.req, deps.config);
          sendProviderPage(
            ctx,
            deps.config,
            200,
            signOutPage({
              locale,
              clientName: ctx.oidc.client?.clientName,
              shop: deps.config.brands[locale].name,
              ...parsed,
            }),
          );
        },
        postLogoutSuccessSource: async (ctx: KoaContext) => {
          sendProviderPage(ctx, deps.config, 200, signedOutPage(localeOf(ctx.req, deps.config)));
        },
      },
    },
    // What the person sees: a plain page with the error code; the description goes to the log.
    renderError: async (ctx: KoaContext, out: Record<string, unknown>, error: unknown) => {
      const code = typeof out.error === "string" ? out.error : "server_error";
      // A shop's mistake or a stale link, not Mamori's: logged without a stack.
      const detail =
        error instanceof Error && "error_detail" in error ? String(error.error_detail) : undefined;
      deps.log.info({ oidcError: out, detail }, "oidc request refused");
      sendProviderPage(
        ctx,
        deps.config,
        Math.max(ctx.status, 400),
        providerErrorPage(localeOf(ctx.req, deps.config), code),
      );
    },
  };
}

/**
 * After the provider's logout form is confirmed: with "sign out of Mamori too", Mamori's own session
 * ends as well (revoked, cookie cleared) before the answer leaves. The provider then sends the
 * browser back to the shop; not with a redirect, which CSP `form-action 'self'` would block after a
 * form, but a `Refresh` header (a new navigation) and a link.
 */
function finishLogout(deps: Deps, provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== "end_session_confirm" || ctx.status !== 303) return;
    if (ctx.oidc.params.logout === "yes") {
      const mamori = await mamoriSessionOf(deps, ctx.req);
      if (mamori) await revokeSession(deps.db, mamori.account.id, mamori.session.id, deps.clock.now());
      const name = deps.config.sessionCookieName;
      ctx.append(
        "set-cookie",
        `${name}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax${deps.config.cookieSecure ? "; Secure" : ""}`,
      );
    }
    const location = ctx.res.getHeader("location");
    if (typeof location !== "string") return;
    ctx.res.removeHeader("location");
    ctx.set("refresh", `0;url=${location}`);
    sendProviderPage(ctx, deps.config, 200, signedOutPage(localeOf(ctx.req, deps.config), location));
  });
}

/**
 * oidc-provider's discovery lists the response modes form_post and fragment whatever it is told;
 * every client is registered for `query` only (clients.ts): a form_post page would be stopped by
 * Mamori's CSP (`script-src 'self'`, `form-action 'self'`), and a code in a fragment never reaches
 * a shop's server. Discovery says so.
 */
function advertiseOnlyWhatWorks(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== "discovery" || typeof ctx.body !== "object" || ctx.body === null) return;
    Object.assign(ctx.body, { response_modes_supported: ["query"] });
  });
}

type CorsClient = { clientAuthMethod: string; redirectUris: string[] };

type LogoutSender = (sub: string, sid: string | undefined) => Promise<void>;

/**
 * The provider sends logout tokens itself from its end-session endpoint (RP-initiated logout with
 * "sign out of Mamori too"): those are queued in the outbox instead, like every other logout, and
 * the provider's own sender is kept for the outbox's delivery.
 */
function routeLogoutsThroughOutbox(deps: Deps, provider: Provider): (client: object) => LogoutSender {
  const prototype = provider.Client.prototype as { backchannelLogout: LogoutSender; clientId?: string };
  const send = prototype.backchannelLogout;
  prototype.backchannelLogout = async function (this: { clientId: string }, sub, sid) {
    const clientId = this.clientId;
    await deps.db.transaction().execute(async (trx) => {
      // This sign-in is told now: the outbox's round will not tell it again when Mamori's session ends.
      if (sid !== undefined) await forgetLogoutTarget(trx, clientId, sid);
      await queueLogoutNotice(trx, deps, { clientId, sub, sid });
    });
    deps.courier.wake();
  };
  return (client) => (sub, sid) => send.call(client, sub, sid);
}

const logoutSenders = new WeakMap<Provider, (client: object) => LogoutSender>();

async function buildProvider(deps: Deps): Promise<Provider> {
  const keys = await loadSigningKeys(deps.db, {
    clock: deps.clock,
    random: deps.random,
    secretKeys: deps.config.secretKeys,
  });
  const oidc = await oidcLibrary();
  const provider = new oidc.default(deps.config.issuer.href, providerConfiguration(deps, keys, oidc));
  // The provider reads the host, scheme and client address from X-Forwarded-*: routes.ts sets them
  // on every request from the configured issuer and Fastify's address, whatever the client sent.
  provider.proxy = true;
  // Every request knows its browser's Mamori session: the codes it issues are bound to it (adapter.ts).
  provider.use((ctx, next) => withProviderRequest(() => mamoriSessionOf(deps, ctx.req), next));
  finishLogout(deps, provider);
  advertiseOnlyWhatWorks(provider);
  rememberShopOnArrival(provider, deps.config);
  logoutSenders.set(provider, routeLogoutsThroughOutbox(deps, provider));
  provider.on("server_error", (_ctx, error) => deps.log.error({ err: error }, "oidc provider error"));
  return provider;
}

const services = new WeakMap<Deps, OidcService>();

/** The provider of these deps: one per process (the app's routes and the outbox's dispatcher share it). */
export function createOidcService(deps: Deps): OidcService {
  let service = services.get(deps);
  if (!service) {
    service = buildOidcService(deps);
    services.set(deps, service);
  }
  return service;
}

function buildOidcService(deps: Deps): OidcService {
  let current: { version: string; provider: Promise<Provider> } | undefined;
  return {
    async provider() {
      // One indexed read per provider request: a rotation made by the CLI or another process is
      // picked up at once, and nothing about the keys lives only in this process.
      const version = await signingKeySetVersion(deps.db);
      if (!current || current.version !== version) {
        const provider = buildProvider(deps);
        // buildProvider may create the first key: read the version it published.
        current = { version, provider };
        await provider;
        current = { version: await signingKeySetVersion(deps.db), provider };
      }
      return current.provider;
    },
    demandedAal: (clientId, params) => demandedAal(deps, clientId, params),
    async sendLogoutToken(clientId, sub, sid) {
      const provider = await this.provider();
      const client = (await provider.Client.find(clientId)) as { backchannelLogoutUri?: string } | undefined;
      const sender = logoutSenders.get(provider);
      if (!client?.backchannelLogoutUri || !sender) return false;
      await sender(client)(sub, sid);
      return true;
    },
  };
}
