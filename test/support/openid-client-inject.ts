import assert from "node:assert/strict";
import * as oidc from "openid-client";
import type { TestApp } from "./app.ts";
import { type Browser, formAction, formToken } from "./oidc-inject.ts";

/**
 * openid-client 6 (the certified relying party library, not Mamori's own client) talking to a test
 * app through `inject()`: its requests go through `customFetch`, so the HTTP tests run in process
 * on SQLite and PostgreSQL alike.
 */

/** A fetch for openid-client (and jose) that answers from the test app. */
export function injectFetch(s: TestApp): oidc.CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    const headers: Record<string, string> = { host: s.config.publicUrl.host };
    for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = value;
    const body = options.body;
    const response = await s.inject({
      method: options.method as "GET" | "POST",
      url: `${target.pathname}${target.search}`,
      headers,
      ...(body === undefined || body === null
        ? {}
        : {
            payload:
              typeof body === "string"
                ? body
                : body instanceof URLSearchParams
                  ? body.toString()
                  : String(body),
          }),
    });
    const answer = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const one of [value].flat()) answer.append(name, String(one));
    }
    return new Response(response.statusCode === 204 ? null : new Uint8Array(response.rawPayload), {
      status: response.statusCode,
      headers: answer,
    });
  };
}

/** Moves the fake clock to the real time, so Mamori's and openid-client's clocks agree. */
export function alignClock(s: TestApp): void {
  s.clock.advance((Date.now() - s.clock.now().getTime()) / 1000);
}

export type RelyingParty = {
  config: oidc.Configuration;
  redirectUri: string;
  /** The same client with its clock moved by `seconds` (as the fake clock was): a new configuration. */
  skewed(seconds: number): RelyingParty;
};

/** openid-client's configuration from Mamori's discovery document, for a confidential or public client. */
export async function relyingParty(
  s: TestApp,
  client: { clientId: string; clientSecret?: string; redirectUri: string },
  metadata: Partial<oidc.ClientMetadata> = {},
): Promise<RelyingParty> {
  const auth = client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None();
  const fetch = injectFetch(s);
  const discovered = await oidc.discovery(s.config.issuer, client.clientId, metadata, auth, {
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: fetch,
  });
  const build = (config: oidc.Configuration): RelyingParty => ({
    config,
    redirectUri: client.redirectUri,
    skewed(seconds) {
      const moved = new oidc.Configuration(
        discovered.serverMetadata(),
        client.clientId,
        { ...metadata, [oidc.clockSkew]: seconds },
        auth,
      );
      oidc.allowInsecureRequests(moved);
      moved[oidc.customFetch] = fetch;
      return build(moved);
    },
  });
  return build(discovered);
}

export type StartedSignIn = { url: URL; verifier: string; state: string; nonce: string };

export async function startSignIn(
  rp: RelyingParty,
  parameters: Record<string, string> = {},
): Promise<StartedSignIn> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: "openid email profile",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
    ...parameters,
  });
  return { url, verifier, state, nonce };
}

/** Follows the browser through Mamori (consenting when asked) until it is sent away: that URL. */
export async function browseUntilSentAway(browser: Browser, url: URL): Promise<URL> {
  let page = await browser.follow(await browser.request("GET", `${url.pathname}${url.search}`));
  if (page.statusCode === 200 && /\/consent"/.test(page.body)) {
    page = await browser.follow(
      await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
    );
  }
  assert.equal(
    page.statusCode,
    303,
    `sent back to the client: ${page.statusCode} ${page.body.slice(0, 300)}`,
  );
  return new URL(String(page.headers.location));
}
