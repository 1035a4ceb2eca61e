import { randomBytes } from "node:crypto";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from "jose";
import * as oidc from "openid-client";

/**
 * A tiny shop with "Sign in with Mamori" (docs/integration.md): OpenID Connect through the
 * `openid-client` package, authorization code flow with PKCE. It shows the customer's name and
 * how they signed in (the ID token's `acr`/`amr`), links to Mamori's "Login & security", renews
 * its tokens with the refresh token and signs out through Mamori (RP-initiated logout). When the
 * customer's sign-in ends at Mamori (signed out there, a new password, "this wasn't me", a
 * suspended account) Mamori POSTs a logout token to /backchannel-logout (OpenID Connect
 * Back-Channel Logout 1.0): the shop checks it with `jose` (openid-client's own JWT library) against
 * Mamori's published keys and ends its session for that sign-in.
 *
 * When Mamori does not answer (the connection refused, no answer within `timeoutMs`, a 5xx), the
 * customer sees the shop's own 「ただいまログインできません」 page (503, with a link to try again)
 * instead of the browser's error: the shop asks Mamori before sending anyone there, starts while
 * Mamori is down, and reads Mamori's discovery document again until it answers.
 *
 * The shop's own sessions live in process memory to keep the example short; a real shop keeps
 * them in its database or a signed cookie.
 */
export type ShopOptions = {
  /** Mamori's issuer, e.g. https://login.example.jp/oidc (`mamori clients create` prints it). */
  issuer: URL;
  clientId: string;
  clientSecret: string;
  /** Where this shop is reached, e.g. https://shop.example.jp (its /callback is the redirect URI). */
  baseUrl: URL;
  /** Ask for two-step verification at every sign-in (acr_values=urn:mamori:aal2). */
  requireTwoStep?: boolean;
  /** Plain http to Mamori: only for development and tests on loopback. */
  allowHttp?: boolean;
  /** How the shop reaches Mamori (tests answer in process); the platform's fetch by default. */
  fetch?: oidc.CustomFetch;
  /** How long one request to Mamori may take before the customer is told it is unavailable (5 s). */
  timeoutMs?: number;
};

type Customer = {
  sub: string;
  name: string;
  email: string;
  acr: string;
  amr: string[];
  /** The sign-in at Mamori this session came from (the ID token's `sid`): a logout token names it. */
  sid: string | undefined;
  idToken: string;
  refreshToken: string | undefined;
  refreshedAt: string | undefined;
};

type PendingSignIn = { verifier: string; state: string; nonce: string };

type ShopSession = { customer?: Customer; pending?: PendingSignIn };

/** What the shop learns from Mamori's discovery document: the client's configuration and Mamori's keys. */
type Mamori = { config: oidc.Configuration; keys: ReturnType<typeof createRemoteJWKSet> };

const sessionCookie = "shop_session";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="ja">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} | やまだ商店</title></head>
<body>
<header><a href="/">やまだ商店</a></header>
<main>
${body}
</main>
</body>
</html>`;
}

/**
 * The page a customer sees when Mamori does not answer (refused, timed out, or a 5xx): in the
 * shop's words, with a way to try again, instead of the browser's own error page.
 */
function unavailablePage(reply: FastifyReply, retryPath: string): FastifyReply {
  return reply
    .code(503)
    .header("cache-control", "no-store")
    .header("retry-after", "30")
    .type("text/html; charset=utf-8")
    .send(
      page(
        "ただいまログインできません",
        `<h1 id="unavailable">ただいまログインできません</h1>
<p>ログインの仕組みが一時的に応答していません。ご不便をおかけして申し訳ございません。</p>
<p>しばらくしてから、もう一度お試しください。</p>
<p><a id="retry" href="${escapeHtml(retryPath)}">もう一度試す</a></p>`,
      ),
    );
}

/**
 * Whether an error from talking to Mamori means Mamori did not answer — the connection refused or
 * reset, the timeout, a 5xx — rather than a refusal it answered (an OAuth error, a bad state).
 */
export function mamoriUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "TimeoutError" || error.name === "AbortError") return true;
  // fetch's own failure: refused, reset, no route, DNS.
  if (error instanceof TypeError) return true;
  const status =
    "status" in error && typeof error.status === "number"
      ? error.status
      : error.cause instanceof Response
        ? error.cause.status
        : undefined;
  if (status !== undefined) return status >= 500;
  return error.cause instanceof Error ? mamoriUnavailable(error.cause) : false;
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

export async function buildShop(options: ShopOptions): Promise<FastifyInstance> {
  // Every request to Mamori gives up after this: a Mamori that hangs is one that is down.
  const timeoutMs = options.timeoutMs ?? 5000;
  const shopFetch = options.fetch;

  // Mamori's discovery document, read when first needed and again whenever it failed: the shop
  // starts, and serves its pages, while Mamori is down.
  let discovered: Promise<Mamori> | undefined;
  async function discover(): Promise<Mamori> {
    const config = await oidc.discovery(
      options.issuer,
      options.clientId,
      undefined,
      oidc.ClientSecretBasic(options.clientSecret),
      {
        ...(options.allowHttp ? { execute: [oidc.allowInsecureRequests] } : {}),
        ...(shopFetch ? { [oidc.customFetch]: shopFetch } : {}),
        // Seconds, for discovery and every later request of this configuration.
        timeout: timeoutMs / 1000,
      },
    );
    const jwksUri = config.serverMetadata().jwks_uri;
    if (!jwksUri) throw new Error("Mamori's discovery document names no jwks_uri");
    const keys = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: timeoutMs,
      ...(shopFetch
        ? {
            [customFetch]: (url: string, init: { headers: Headers; method: string; signal: AbortSignal }) =>
              shopFetch(url, {
                method: init.method,
                headers: headerRecord(init.headers),
                body: undefined,
                redirect: "manual",
                signal: init.signal,
              }),
          }
        : {}),
    });
    return { config, keys };
  }
  /** The discovered configuration; `fresh` asks Mamori again (is it answering right now?). */
  function mamori(fresh = false): Promise<Mamori> {
    let current = discovered;
    if (fresh || current === undefined) {
      const attempt = discover();
      current = attempt;
      discovered = attempt;
      attempt.catch(() => {
        if (discovered === attempt) discovered = undefined;
      });
    }
    return current;
  }
  const sessions = new Map<string, ShopSession>();
  const redirectUri = new URL("/callback", options.baseUrl).href;
  const mamoriOrigin = options.issuer.origin;

  const app = Fastify();
  await app.register(cookie);
  await app.register(formbody);

  function sessionOf(request: FastifyRequest, reply: FastifyReply): ShopSession {
    const id = request.cookies[sessionCookie];
    const existing = id ? sessions.get(id) : undefined;
    if (existing) return existing;
    const fresh: ShopSession = {};
    const newId = randomBytes(32).toString("base64url");
    sessions.set(newId, fresh);
    reply.setCookie(sessionCookie, newId, {
      path: "/",
      httpOnly: true,
      sameSite: "lax",
      secure: options.baseUrl.protocol === "https:",
    });
    return fresh;
  }

  app.get("/", async (request, reply) => {
    const { customer } = sessionOf(request, reply);
    reply.type("text/html; charset=utf-8");
    if (!customer) {
      return page(
        "ようこそ",
        `<h1>やまだ商店へようこそ</h1>
<p><a id="sign-in" href="/login">ログイン (Sign in)</a></p>`,
      );
    }
    return page(
      "マイページ",
      `<h1 id="greeting">${escapeHtml(customer.name)} さん、こんにちは</h1>
<dl>
<dt>会員ID (sub)</dt><dd id="sub">${escapeHtml(customer.sub)}</dd>
<dt>Eメール</dt><dd id="email">${escapeHtml(customer.email)}</dd>
<dt>acr</dt><dd id="acr">${escapeHtml(customer.acr)}</dd>
<dt>amr</dt><dd id="amr">${escapeHtml(customer.amr.join(" "))}</dd>
<dt>更新</dt><dd id="refreshed">${escapeHtml(customer.refreshedAt ?? "-")}</dd>
</dl>
<p><a id="security" href="${escapeHtml(`${mamoriOrigin}/account/security`)}">ログインとセキュリティ (Login &amp; security)</a></p>
<form method="post" action="/refresh"><button id="refresh" type="submit">トークンを更新</button></form>
<form method="post" action="/logout"><button id="sign-out" type="submit">ログアウト</button></form>`,
    );
  });

  app.get("/login", async (request, reply) => {
    const session = sessionOf(request, reply);
    const pending: PendingSignIn = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
    };
    // Mamori asked first: a customer is sent there only while it answers.
    let config: oidc.Configuration;
    try {
      ({ config } = await mamori(true));
    } catch (error) {
      request.log.warn({ err: error }, "Mamori does not answer");
      return unavailablePage(reply, "/login");
    }
    session.pending = pending;
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: "openid email profile offline_access",
      prompt: "consent",
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: "S256",
      state: pending.state,
      nonce: pending.nonce,
      ...(options.requireTwoStep ? { acr_values: "urn:mamori:aal2" } : {}),
    });
    return reply.redirect(url.href, 303);
  });

  app.get("/callback", async (request, reply) => {
    const session = sessionOf(request, reply);
    const pending = session.pending;
    session.pending = undefined;
    if (!pending)
      return reply
        .code(400)
        .type("text/html; charset=utf-8")
        .send(page("エラー", "<h1>もう一度ログインしてください</h1>"));
    const currentUrl = new URL(request.url, options.baseUrl);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      const { config } = await mamori();
      tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      request.log.warn({ err: error }, "sign-in with Mamori failed");
      if (mamoriUnavailable(error)) return unavailablePage(reply, "/login");
      return reply
        .code(400)
        .type("text/html; charset=utf-8")
        .send(
          page("エラー", `<h1 id="sign-in-failed">ログインできませんでした</h1><p><a href="/">戻る</a></p>`),
        );
    }
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) return reply.code(400).send("no ID token");
    if (options.requireTwoStep && claims.acr !== "urn:mamori:aal2") {
      return reply.code(403).send("two-step verification was required");
    }
    session.customer = {
      sub: claims.sub,
      name: typeof claims.name === "string" ? claims.name : claims.sub,
      email: typeof claims.email === "string" ? claims.email : "",
      acr: typeof claims.acr === "string" ? claims.acr : "",
      amr: Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === "string") : [],
      sid: typeof claims.sid === "string" ? claims.sid : undefined,
      idToken: tokens.id_token,
      refreshToken: tokens.refresh_token,
      refreshedAt: undefined,
    };
    return reply.redirect("/", 303);
  });

  app.post("/refresh", async (request, reply) => {
    const session = sessionOf(request, reply);
    const customer = session.customer;
    if (!customer?.refreshToken) return reply.redirect("/", 303);
    try {
      const { config } = await mamori();
      const tokens = await oidc.refreshTokenGrant(config, customer.refreshToken);
      const claims = tokens.claims();
      session.customer = {
        ...customer,
        idToken: tokens.id_token ?? customer.idToken,
        refreshToken: tokens.refresh_token ?? customer.refreshToken,
        name: typeof claims?.name === "string" ? claims.name : customer.name,
        refreshedAt: new Date().toISOString(),
      };
    } catch (error) {
      // Mamori did not answer: the customer stays signed in here and is asked to try again later.
      if (mamoriUnavailable(error)) return unavailablePage(reply, "/");
      // The refresh token was revoked (signed out at Mamori, account suspended): signed out here too.
      request.log.info({ err: error }, "refresh refused");
      session.customer = undefined;
    }
    return reply.redirect("/", 303);
  });

  // Logout tokens already acted on: a token replayed within its lifetime (2 minutes) is refused.
  const seenLogoutTokens = new Map<string, number>();

  /** Back-Channel Logout 1.0, section 2.6: the checks a logout token must pass, with jose. */
  async function verifiedLogoutToken(token: string): Promise<JWTPayload | undefined> {
    let payload: JWTPayload;
    try {
      const { config, keys } = await mamori();
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.serverMetadata().issuer,
        audience: options.clientId,
        typ: "logout+jwt",
        algorithms: ["RS256"],
        requiredClaims: ["iat", "exp", "jti", "events"],
        maxTokenAge: "2 minutes",
      }));
    } catch {
      return undefined;
    }
    const events = payload.events;
    const isLogout =
      typeof events === "object" &&
      events !== null &&
      "http://schemas.openid.net/event/backchannel-logout" in events;
    // A logout token names a sign-in (sid) or a person (sub), and is never an ID token (no nonce).
    if (!isLogout || "nonce" in payload || (!payload.sid && !payload.sub)) return undefined;
    const now = Date.now();
    for (const [jti, until] of seenLogoutTokens) if (until < now) seenLogoutTokens.delete(jti);
    if (typeof payload.jti !== "string" || seenLogoutTokens.has(payload.jti)) return undefined;
    seenLogoutTokens.set(payload.jti, now + 180_000);
    return payload;
  }

  app.post("/backchannel-logout", async (request, reply) => {
    reply.header("cache-control", "no-store");
    const body = request.body as Record<string, unknown> | undefined;
    const token = typeof body?.logout_token === "string" ? body.logout_token : undefined;
    const payload = token ? await verifiedLogoutToken(token) : undefined;
    if (!payload) return reply.code(400).send({ error: "invalid_request" });
    // Every session of this shop for that sign-in (sid), or for the person when no sid is named.
    for (const session of sessions.values()) {
      const customer = session.customer;
      if (!customer) continue;
      const named = payload.sid !== undefined ? customer.sid === payload.sid : customer.sub === payload.sub;
      if (named) session.customer = undefined;
    }
    return reply.code(200).send();
  });

  app.post("/logout", async (request, reply) => {
    const session = sessionOf(request, reply);
    const idToken = session.customer?.idToken;
    session.customer = undefined;
    if (!idToken) return reply.redirect("/", 303);
    // Signed out here already; while Mamori does not answer, the customer stays on the shop's page
    // rather than on the browser's error (their Mamori sign-in ends when it expires).
    let config: oidc.Configuration;
    try {
      ({ config } = await mamori(true));
    } catch (error) {
      request.log.warn({ err: error }, "Mamori does not answer; signed out of the shop only");
      return reply.redirect("/", 303);
    }
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: new URL("/", options.baseUrl).href,
    });
    return reply.redirect(url.href, 303);
  });

  return app;
}
