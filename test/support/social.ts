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

export async function setUp(t: TestContext, extraEnv: Record<string, string> = {}): Promise<Setup> {
  const fakes = {
    google: await startFakeProvider("google"),
    line: await startFakeProvider("line"),
    yahoo_japan: await startFakeProvider("yahoo_japan"),
    apple: await startFakeProvider("apple"),
  };
  t.after(async () => {
    for (const fake of Object.values(fakes)) await fake.close();
  });
  const s = await buildTestApp(t, {
    env: {
      ...federationEnv((Object.keys(fakes) as FakeKind[]).map((kind) => ({ kind, fake: fakes[kind] }))),
      ...extraEnv,
    },
  });
  return { s, fakes };
}

export type Trip = {
  callbackPath: string;
  cookie: string;
  response: LightMyRequestResponse;
  /** Apple: the form body its page posted. */
  postedBody?: string;
};

/** The path and body of the form Apple's page posts (the fake's auto-submitting form). */
export function applePost(page: string): { path: string; body: string } {
  const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
  assert.ok(action, page);
  const fields = new URLSearchParams();
  for (const m of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields.set(m[1] ?? "", (m[2] ?? "").replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
  return { path: new URL(action).pathname, body: fields.toString() };
}

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
  const cookie = `${page.cookie}; ${flowCookie}`;
  if (kind === "apple") {
    // form_post: Apple's page posts the answer from appleid.apple.com, a cross-site POST.
    assert.equal(atProvider.status, 200);
    const posted = applePost(await atProvider.text());
    const response = await s.inject({
      method: "POST",
      url: posted.path,
      headers: {
        cookie,
        origin: "https://appleid.apple.com",
        "sec-fetch-site": "cross-site",
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: posted.body,
    });
    return { callbackPath: posted.path, cookie, response, postedBody: posted.body };
  }
  assert.equal(atProvider.status, 302, await atProvider.text());
  const callback = new URL(String(atProvider.headers.get("location")));
  const callbackPath = `${callback.pathname}${callback.search}`;
  const response = await s.inject({ method: "GET", url: callbackPath, headers: { cookie } });
  return { callbackPath, cookie, response };
}

export function sessionCookieOf(s: TestApp, response: LightMyRequestResponse): string | undefined {
  return cookieSetBy(response, s.config.sessionCookieName);
}
