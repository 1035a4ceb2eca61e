import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import * as client from "openid-client";
import { createClient } from "../../src/oidc/clients.ts";
import type { TestApp } from "./app.ts";

/**
 * The Device Authorization Grant (RFC 8628) from both sides: the device is openid-client 6 (the
 * certified relying party, nothing of Mamori's), talking to the app through `inject()`; the person
 * is plain HTTP requests from a signed-in browser's cookie.
 */
export async function registerDevice(
  s: TestApp,
  options: { requireTwoStep?: boolean } = {},
): Promise<string> {
  const created = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "テレビアプリ",
      redirectUris: [],
      postLogoutRedirectUris: [],
      requireTwoStep: options.requireTwoStep ?? false,
      deviceFlow: true,
    },
  );
  assert.equal(created.clientSecret, undefined, "a device client is public: no secret");
  return created.clientId;
}

/** openid-client's fetch, answered by the app in process (with a timeout like every request). */
function injectFetch(s: TestApp): client.CustomFetch {
  return async (url, options) => {
    // The app answers in process; a request that hangs fails the test instead of stalling it.
    options.signal?.throwIfAborted();
    const target = new URL(url);
    const body = options.body;
    const response = await s.inject({
      method: options.method as "GET" | "POST",
      url: `${target.pathname}${target.search}`,
      headers: { ...options.headers, host: s.config.publicUrl.host },
      ...(body === undefined || body === null ? {} : { payload: String(body) }),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one !== undefined) headers.append(name, String(one));
      }
    }
    return new Response(response.statusCode === 204 ? null : new Uint8Array(response.rawPayload), {
      status: response.statusCode,
      headers,
    });
  };
}

/** The device's configuration: discovery from the issuer, a public client (no authentication). */
export async function deviceConfiguration(s: TestApp, clientId: string): Promise<client.Configuration> {
  // oidc-provider signs with the real time (iat, exp), so no clock skew for the test's fake clock.
  const config = await client.discovery(s.config.issuer, clientId, undefined, client.None(), {
    [client.customFetch]: injectFetch(s),
    execute: [client.allowInsecureRequests],
    timeout: 30,
  });
  return config;
}

export type DeviceStart = client.DeviceAuthorizationResponse;

export function startDevice(
  config: client.Configuration,
  scope = "openid email profile offline_access",
): Promise<DeviceStart> {
  return client.initiateDeviceAuthorization(config, { scope });
}

/**
 * The device's polling once the person answered: no waiting between polls (interval 0), because
 * the tests answer before the device polls; a pending code would make it loop until its signal.
 */
export function pollOnce(
  config: client.Configuration,
  start: DeviceStart,
): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  return client.pollDeviceAuthorizationGrant(config, { ...start, interval: 0 }, undefined, {
    signal: AbortSignal.timeout(30_000),
  });
}

/** The device's raw token request (to see one answer, e.g. authorization_pending, without a poll loop). */
export function rawPoll(s: TestApp, clientId: string, deviceCode: string): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "POST",
    url: "/oidc/token",
    headers: { host: s.config.publicUrl.host, "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: deviceCode,
      client_id: clientId,
    }).toString(),
  });
}

/** A signed-in person's form POST on the device page, from an address (each "phone" its own). */
export function personPost(
  s: TestApp,
  cookie: string,
  path: string,
  form: Record<string, string>,
  remoteAddress = "203.0.113.10",
): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "POST",
    url: path,
    remoteAddress,
    headers: {
      host: s.config.publicUrl.host,
      cookie,
      origin: s.config.publicUrl.origin,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams(form).toString(),
  });
}

export function personGet(s: TestApp, cookie: string, path: string): Promise<LightMyRequestResponse> {
  return s.inject({ method: "GET", url: path, headers: { host: s.config.publicUrl.host, cookie } });
}

/** The form token of a page, and the cookie header with the CSRF cookie it may have set. */
export function csrfOf(page: LightMyRequestResponse): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, `the page has a form token: ${page.body.slice(0, 300)}`);
  return token;
}

export function withSetCookies(cookie: string, response: LightMyRequestResponse): string {
  const raw = response.headers["set-cookie"];
  const jar = new Map<string, string>();
  for (const pair of cookie.split("; ").filter(Boolean)) {
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  for (const header of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
    const [pair = ""] = header.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}
