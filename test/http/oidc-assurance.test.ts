import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp, type TestApp } from "../support/app.ts";
import {
  authorizationRequest,
  Browser,
  codeFrom,
  exchangeCode,
  formAction,
  formToken,
  registerShop,
  type ShopClient,
  type Tokens,
  verifiedIdToken,
} from "../support/oidc-inject.ts";
import { accountWithApp, oathtoolCode } from "../support/two-step.ts";

// A shop that demands two-step verification (acr_values=urn:mamori:aal2, or a client registered
// with --require-two-step) never gets a code or token for a session without it.

const aal2 = "urn:mamori:aal2";

async function consentAndCode(
  browser: Browser,
  page: Awaited<ReturnType<Browser["request"]>>,
  shop: ShopClient,
  request: ReturnType<typeof authorizationRequest>,
): Promise<string> {
  assert.equal(page.statusCode, 200, page.body);
  const allowed = await browser.follow(
    await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
  );
  return codeFrom(allowed, shop, request);
}

async function signedInBrowser(s: TestApp, cookie: string): Promise<Browser> {
  const browser = new Browser(s);
  browser.setCookieHeader(cookie);
  return browser;
}

test("a client demanding two-step gets no code for a password-only session: the person passes a step-up first", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const owner = await accountWithApp(s);
  const browser = await signedInBrowser(s, owner.cookie);

  // The attack: a session that proved only a password (and an emailed code) asks for an aal2 sign-in.
  const request = authorizationRequest(shop, { acr_values: aal2 });
  const stepUp = await browser.follow(await browser.request("GET", request.url));
  assert.equal(stepUp.statusCode, 200, stepUp.body);
  assert.match(stepUp.body, /action="\/account\/security\/step-up"/, "Mamori's step-up page, not a code");
  const methodId = /name="method_id" value="([^"]+)"/.exec(stepUp.body)?.[1];
  assert.ok(methodId);
  const returnTo = /name="return_to" value="([^"]+)"/.exec(stepUp.body)?.[1];
  assert.match(String(returnTo), /^\/oidc\/interaction\//);

  // Not even prompt=none gets a code meanwhile: the shop hears login_required.
  const silent = authorizationRequest(shop, { acr_values: aal2, prompt: "none" });
  const refused = await browser.follow(await browser.request("GET", silent.url));
  const location = new URL(String(refused.headers.location));
  assert.equal(location.searchParams.get("error"), "login_required");
  assert.equal(location.searchParams.get("code"), null);

  const proved = await browser.request("POST", "/account/security/step-up", {
    _csrf: formToken(stepUp),
    return_to: String(returnTo),
    method_id: methodId,
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  const consent = await browser.follow(proved);
  const code = await consentAndCode(browser, consent, shop, request);
  const tokens = (await exchangeCode(s, shop, code, request.verifier)).json<Tokens>();
  const { claims } = await verifiedIdToken(s, tokens.id_token);
  assert.equal(claims.acr, aal2);
  assert.ok(claims.amr?.includes("otp"), `amr ${JSON.stringify(claims.amr)} includes otp`);
  assert.ok(claims.amr?.includes("mfa"));
});

test("a client demanding two-step shows a person without two-step a page saying so, and no code is issued", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ locale: "en" });
  const browser = await signedInBrowser(s, account.cookie);
  const request = authorizationRequest(shop, { acr_values: aal2 });
  const page = await browser.follow(await browser.request("GET", request.url));
  assert.equal(page.statusCode, 403, page.body);
  assert.match(page.body, /Two-step verification is required/);
  assert.match(page.body, /href="\/account\/security\/two-step"/);
  assert.equal(page.headers["cache-control"], "no-store");

  const cancelled = await browser.follow(
    await browser.request("POST", formAction(page, "abort"), { _csrf: formToken(page) }),
  );
  const location = new URL(String(cancelled.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, shop.redirectUri);
  assert.equal(location.searchParams.get("error"), "access_denied");
  assert.equal(location.searchParams.get("code"), null);
});

test("a client registered to require two-step demands it even when its request does not ask", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s, { requireTwoStep: true });
  const owner = await accountWithApp(s);
  const browser = await signedInBrowser(s, owner.cookie);
  const request = authorizationRequest(shop);
  const page = await browser.follow(await browser.request("GET", request.url));
  assert.match(page.body, /action="\/account\/security\/step-up"/);
});

test("a session that passed two-step at sign-in gets acr aal2 and amr with otp at once", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const owner = await accountWithApp(s);
  const signIn = await s.signIn({ identifier: owner.email, password: owner.password });
  const challengeId = signIn.json<{ challenge: { id: string } }>().challenge.id;
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/sign-in/challenges/${challengeId}/verify`,
    payload: { code: oathtoolCode(owner.secret, s.clock.now()) },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const browser = new Browser(s);
  for (const header of [verified.headers["set-cookie"]].flat()) if (header) browser.setCookieHeader(header);
  const request = authorizationRequest(shop, { acr_values: aal2 });
  const consent = await browser.follow(await browser.request("GET", request.url));
  const code = await consentAndCode(browser, consent, shop, request);
  const tokens = (await exchangeCode(s, shop, code, request.verifier)).json<Tokens>();
  const { claims } = await verifiedIdToken(s, tokens.id_token);
  assert.equal(claims.acr, aal2);
  assert.deepEqual(claims.amr, ["pwd", "otp", "mfa"]);
});
