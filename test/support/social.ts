import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, type TestApp } from "./app.ts";
import { type FakeKind, type FakeProvider, federationEnv, startFakeProvider } from "./fake-oidc-provider.ts";
import { cookieSetBy, flowCookieSetBy, location, openForm, postForm } from "./forms.ts";
import { requestSignal } from "./patience.ts";

// A test app with LINE, Yahoo! JAPAN ID and Google pointed at fake providers on loopback, and a
// browser's trip through one of them (test/http/social-sign-in*.test.ts).

export type Setup = { s: TestApp; fakes: Record<FakeKind, FakeProvider> };

export async function setUp(t: TestContext): Promise<Setup> {
  const fakes = {
    google: await startFakeProvider("google"),
    line: await startFakeProvider("line"),
    yahoo_japan: await startFakeProvider("yahoo_japan"),
  };
  t.after(async () => {
    for (const fake of Object.values(fakes)) await fake.close();
  });
  const s = await buildTestApp(t, {
    env: federationEnv((Object.keys(fakes) as FakeKind[]).map((kind) => ({ kind, fake: fakes[kind] }))),
  });
  return { s, fakes };
}

export type Trip = { callbackPath: string; cookie: string; response: LightMyRequestResponse };

/** A browser's trip: the sign-in page's button, the provider (which answers at once), the callback. */
export async function tripTo(
  s: TestApp,
  kind: FakeKind,
  options: { cookie?: string; purpose?: "link" | "reauth"; returnTo?: string } = {},
): Promise<Trip> {
  const page = await openForm(s, "/sign-in", options.cookie ?? "");
  const started = await postForm(s, `/sign-in/federation/${kind}`, page, {
    _csrf: page.csrf,
    return_to: options.returnTo ?? "/account",
    ...(options.purpose ? { purpose: options.purpose } : {}),
  });
  const providerUrl = location(started);
  const flowCookie = flowCookieSetBy(started, "mamori_federation");
  assert.ok(flowCookie, "the start binds the flow to this browser");
  const atProvider = await fetch(providerUrl, { redirect: "manual", signal: requestSignal() });
  assert.equal(atProvider.status, 302, await atProvider.text());
  const callback = new URL(String(atProvider.headers.get("location")));
  const callbackPath = `${callback.pathname}${callback.search}`;
  const cookie = `${page.cookie}; ${flowCookie}`;
  const response = await s.inject({ method: "GET", url: callbackPath, headers: { cookie } });
  return { callbackPath, cookie, response };
}

export function sessionCookieOf(s: TestApp, response: LightMyRequestResponse): string | undefined {
  return cookieSetBy(response, s.config.sessionCookieName);
}
