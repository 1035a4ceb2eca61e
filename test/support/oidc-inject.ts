import assert from "node:assert/strict";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { createClient } from "../../src/oidc/clients.ts";
import type { TestApp } from "./app.ts";

/**
 * OpenID Connect through `inject()`: a browser's cookie jar and redirects, a shop's token requests
 * (client_secret_basic, PKCE S256), and an ID token checked against the JWKS with node:crypto —
 * nothing from Mamori's own provider code, so the tests can catch it being wrong.
 */

export type ShopClient = { clientId: string; clientSecret: string; redirectUri: string; logoutUri: string };

export async function registerShop(
  s: TestApp,
  options: { requireTwoStep?: boolean } = {},
): Promise<ShopClient> {
  const redirectUri = "http://127.0.0.1:8088/callback";
  const logoutUri = "http://127.0.0.1:8088/signed-out";
  const created = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "テスト商店",
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [logoutUri],
      requireTwoStep: options.requireTwoStep ?? false,
    },
  );
  assert.ok(created.clientSecret, "a confidential client has a secret");
  return { clientId: created.clientId, clientSecret: created.clientSecret, redirectUri, logoutUri };
}

/** A browser: keeps cookies (by name, whatever their path) and follows Mamori's own redirects. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly s: TestApp;
  readonly host: string;
  constructor(s: TestApp) {
    this.s = s;
    this.host = s.config.publicUrl.host;
  }

  setCookieHeader(header: string): void {
    const [pair] = header.split(";");
    const equals = pair?.indexOf("=") ?? -1;
    if (!pair || equals <= 0) return;
    this.cookies.set(pair.slice(0, equals), pair.slice(equals + 1));
  }

  private keep(response: LightMyRequestResponse): void {
    const raw = response.headers["set-cookie"];
    for (const header of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const [pair = ""] = header.split(";");
      const equals = pair.indexOf("=");
      const name = pair.slice(0, equals);
      const value = pair.slice(equals + 1);
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async request(
    method: "GET" | "POST",
    url: string,
    form?: Record<string, string>,
  ): Promise<LightMyRequestResponse> {
    const target = new URL(url, `http://${this.host}`);
    const response = await this.s.inject({
      method,
      url: `${target.pathname}${target.search}`,
      headers: {
        host: this.host,
        cookie: this.cookieHeader(),
        ...(method === "POST"
          ? { origin: this.s.config.publicUrl.origin, "content-type": "application/x-www-form-urlencoded" }
          : {}),
      },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
    });
    this.keep(response);
    return response;
  }

  /** Follows redirects while they stay on Mamori; returns the last answer (a page, or a redirect away). */
  async follow(response: LightMyRequestResponse, limit = 10): Promise<LightMyRequestResponse> {
    let current = response;
    for (let i = 0; i < limit; i++) {
      // A redirect, or Mamori's "continue" page (a Refresh header, after a form).
      const refresh = /^0;url=(.+)$/.exec(String(current.headers.refresh ?? ""))?.[1];
      const location =
        current.statusCode >= 300 && current.statusCode < 400 ? current.headers.location : refresh;
      if (typeof location !== "string") return current;
      const next = new URL(location, `http://${this.host}`);
      if (next.host !== this.host) return current;
      current = await this.request("GET", `${next.pathname}${next.search}`);
    }
    throw new Error("too many redirects");
  }
}

export function formToken(page: LightMyRequestResponse): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, "the page has a form token");
  return token;
}

/** The action of a page's form that ends with `/suffix` (consent, abort). */
export function formAction(page: LightMyRequestResponse, suffix: string): string {
  const action = new RegExp(`action="([^"]+/${suffix})"`).exec(page.body)?.[1];
  assert.ok(action, `the page has a ${suffix} form`);
  return action;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export type AuthorizationRequest = { url: string; state: string; nonce: string; verifier: string };

export function authorizationRequest(
  shop: ShopClient,
  extra: Record<string, string> = {},
): AuthorizationRequest {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString("hex");
  const nonce = randomBytes(8).toString("hex");
  const query = new URLSearchParams({
    client_id: shop.clientId,
    redirect_uri: shop.redirectUri,
    response_type: "code",
    scope: "openid email profile",
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  });
  return { url: `/oidc/auth?${query}`, state, nonce, verifier };
}

/** The code in a redirect back to the shop (checking its state and issuer). */
export function codeFrom(
  response: LightMyRequestResponse,
  shop: ShopClient,
  request: AuthorizationRequest,
): string {
  assert.equal(response.statusCode, 303, response.body);
  const location = new URL(String(response.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, shop.redirectUri);
  assert.equal(location.searchParams.get("state"), request.state);
  const code = location.searchParams.get("code");
  assert.ok(code, `a code in ${location.href}`);
  return code;
}

export async function tokenRequest(
  s: TestApp,
  shop: ShopClient,
  form: Record<string, string>,
): Promise<LightMyRequestResponse> {
  const basic = Buffer.from(
    `${encodeURIComponent(shop.clientId)}:${encodeURIComponent(shop.clientSecret)}`,
  ).toString("base64");
  return s.inject({
    method: "POST",
    url: "/oidc/token",
    headers: {
      host: s.config.publicUrl.host,
      authorization: `Basic ${basic}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams(form).toString(),
  });
}

export type Tokens = { id_token: string; access_token: string; refresh_token?: string; token_type: string };

export async function exchangeCode(
  s: TestApp,
  shop: ShopClient,
  code: string,
  verifier: string,
): Promise<LightMyRequestResponse> {
  return tokenRequest(s, shop, {
    grant_type: "authorization_code",
    code,
    redirect_uri: shop.redirectUri,
    code_verifier: verifier,
  });
}

export type IdTokenClaims = Record<string, unknown> & {
  sub: string;
  iss: string;
  aud: string;
  acr?: string;
  amr?: string[];
};

/** Checks an ID token's RS256 signature against the provider's JWKS; returns its header and claims. */
export async function verifiedIdToken(
  s: TestApp,
  idToken: string,
): Promise<{ kid: string; claims: IdTokenClaims }> {
  const [headerText = "", payloadText = "", signature = ""] = idToken.split(".");
  const header = JSON.parse(Buffer.from(headerText, "base64url").toString("utf8")) as {
    alg: string;
    kid: string;
  };
  assert.equal(header.alg, "RS256");
  const jwks = await s.inject({
    method: "GET",
    url: "/oidc/jwks",
    headers: { host: s.config.publicUrl.host },
  });
  const key = jwks.json<{ keys: { kid: string }[] }>().keys.find((k) => k.kid === header.kid);
  assert.ok(key, `the JWKS publishes the signing key ${header.kid}`);
  const publicKey = createPublicKey({ key, format: "jwk" });
  const valid = verify(
    "sha256",
    Buffer.from(`${headerText}.${payloadText}`),
    publicKey,
    Buffer.from(signature, "base64url"),
  );
  assert.ok(valid, "the ID token's signature is valid");
  return { kid: header.kid, claims: JSON.parse(Buffer.from(payloadText, "base64url").toString("utf8")) };
}

/** A full code flow in `browser`, signed in to Mamori (consenting when asked): the shop's tokens. */
export async function signInAtShop(
  s: TestApp,
  shop: ShopClient,
  browser: Browser,
  extra: Record<string, string> = {},
): Promise<Tokens & { refresh_token: string }> {
  const request = authorizationRequest(shop, extra);
  let page = await browser.follow(await browser.request("GET", request.url));
  if (page.statusCode === 200) {
    page = await browser.follow(
      await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
    );
  }
  const exchanged = await exchangeCode(s, shop, codeFrom(page, shop, request), request.verifier);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  const tokens = exchanged.json<Tokens>();
  assert.ok(tokens.refresh_token, "the shop got a refresh token");
  return { ...tokens, refresh_token: tokens.refresh_token };
}

/** The shop's refresh request (client_secret_basic). */
export function refreshWith(
  s: TestApp,
  shop: ShopClient,
  refreshToken: string,
): Promise<LightMyRequestResponse> {
  return tokenRequest(s, shop, { grant_type: "refresh_token", refresh_token: refreshToken });
}

/** The shop's userinfo request with an access token. */
export function userinfoWith(s: TestApp, accessToken: string): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "GET",
    url: "/oidc/me",
    headers: { host: s.config.publicUrl.host, authorization: `Bearer ${accessToken}` },
  });
}

/** A form POST by the shop to one of the provider's endpoints, authenticated with client_secret_basic. */
export function shopPost(
  s: TestApp,
  shop: ShopClient,
  path: string,
  form: Record<string, string>,
): Promise<LightMyRequestResponse> {
  const basic = Buffer.from(
    `${encodeURIComponent(shop.clientId)}:${encodeURIComponent(shop.clientSecret)}`,
  ).toString("base64");
  return s.inject({
    method: "POST",
    url: path,
    headers: {
      host: s.config.publicUrl.host,
      authorization: `Basic ${basic}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams(form).toString(),
  });
}

/** The provider's introspection answer (RFC 7662) to this shop, for a token. */
export async function introspect(
  s: TestApp,
  shop: ShopClient,
  token: string,
): Promise<Record<string, unknown> & { active: boolean }> {
  const response = await shopPost(s, shop, "/oidc/token/introspection", { token });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<Record<string, unknown> & { active: boolean }>();
}

/** Asserts a shop's tokens are dead everywhere: refresh, userinfo and introspection. */
export async function assertTokensEnded(
  s: TestApp,
  shop: ShopClient,
  tokens: { access_token: string; refresh_token: string },
  why: string,
): Promise<void> {
  const refreshed = await refreshWith(s, shop, tokens.refresh_token);
  assert.equal(refreshed.statusCode, 400, `${why}: refresh ${refreshed.body}`);
  assert.equal(refreshed.json<{ error: string }>().error, "invalid_grant", why);
  const me = await userinfoWith(s, tokens.access_token);
  assert.equal(me.statusCode, 401, `${why}: userinfo ${me.body}`);
  assert.equal((await introspect(s, shop, tokens.access_token)).active, false, `${why}: access token`);
  assert.equal((await introspect(s, shop, tokens.refresh_token)).active, false, `${why}: refresh token`);
}

/** Asserts a shop's access token still works at userinfo and both tokens introspect as active. */
export async function assertTokensLive(
  s: TestApp,
  shop: ShopClient,
  tokens: { access_token: string; refresh_token: string },
  why: string,
): Promise<void> {
  const me = await userinfoWith(s, tokens.access_token);
  assert.equal(me.statusCode, 200, `${why}: userinfo ${me.body}`);
  assert.equal((await introspect(s, shop, tokens.access_token)).active, true, `${why}: access token`);
  assert.equal((await introspect(s, shop, tokens.refresh_token)).active, true, `${why}: refresh token`);
}
