import assert from "node:assert/strict";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { assertApiError, buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { openForm, postForm } from "../support/forms.ts";
import { Browser, registerShop } from "../support/oidc-inject.ts";

// `return_to` is typed by anyone (a link, a shop, an attacker): whatever it holds, the answer is a
// page or a redirect, never a 500, and re-entering a password never costs the person their session.

/** Raw and percent-encoded Japanese, malformed percent-encoding, bare and with a leading slash. */
const awkwardReturnTo = ["/あ", "/%E3%81%82", "/%E3%81", "%E3%81%82", "%E3%81", "/a?q=%E3", "/あ#い"];

function assertNoServerError(response: LightMyRequestResponse, what: string): void {
  assert.ok(response.statusCode < 500, `${what}: ${response.statusCode} ${response.body.slice(0, 300)}`);
  const location = response.headers.location;
  if (typeof location === "string")
    assert.match(location, /^[\x21-\x7e]+$/, `${what}: Location must be ASCII, got ${location}`);
}

async function isSignedIn(s: TestApp, cookie: string): Promise<boolean> {
  const me = await s.inject({ method: "GET", url: "/api/v1/session", headers: { cookie } });
  return me.statusCode === 200;
}

test("a non-ASCII or malformed return_to never gives a 500, on any page that takes one", async (t) => {
  // Attack it stops: a link with return_to=/あ or %E3%81 made the sign-in, language switch and
  // step-up pages throw (an invalid Location header) — an error page, and after a correct password
  // the new session cookie was lost with it.
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const pages = [
    "/sign-in",
    "/sign-up",
    "/locale/en",
    "/locale/ja",
    "/password-reset",
    "/account/security/reauthenticate",
    "/account/security/step-up",
    "/sign-in/two-step/sic_unknown",
  ];
  for (const value of awkwardReturnTo) {
    for (const page of pages) {
      for (const query of [encodeURIComponent(value), encodeURI(value)]) {
        const url = `${page}?return_to=${query}`;
        const response = await s.inject({ method: "GET", url, headers: { cookie: account.cookie } });
        assertNoServerError(response, `GET ${url}`);
      }
    }
    const form = await openForm(s, "/sign-in");
    const signedIn = await postForm(s, "/sign-in", form, {
      _csrf: form.csrf,
      identifier: account.email,
      password: account.password,
      return_to: value,
    });
    assertNoServerError(signedIn, `POST /sign-in return_to=${value}`);
    assert.equal(signedIn.statusCode, 303, signedIn.body);
  }
  // A non-ASCII path is kept, percent-encoded; one that decodes to no text falls back to /account.
  const form = await openForm(s, "/sign-in");
  for (const [value, expected] of [
    ["/あ", "/%E3%81%82"],
    ["/%E3%81%82", "/%E3%81%82"],
    ["/%E3%81", "/account"],
  ] as const) {
    const response = await postForm(s, "/sign-in", form, {
      _csrf: form.csrf,
      identifier: account.email,
      password: account.password,
      return_to: value,
    });
    assert.equal(response.headers.location, expected, value);
  }
});

test("the sign-in of a shop (OIDC) answers a non-ASCII redirect or interaction without a 500", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const browser = new Browser(s);
  for (const value of ["http://127.0.0.1:8088/あ", "http://127.0.0.1:8088/%E3%81", "/あ"]) {
    const authorize = new URLSearchParams({
      client_id: shop.clientId,
      redirect_uri: value,
      response_type: "code",
      scope: "openid",
      code_challenge: "x".repeat(43),
      code_challenge_method: "S256",
    });
    assertNoServerError(await browser.request("GET", `/oidc/auth?${authorize}`), `auth ${value}`);
    const end = new URLSearchParams({ client_id: shop.clientId, post_logout_redirect_uri: value });
    assertNoServerError(await browser.request("GET", `/oidc/session/end?${end}`), `end ${value}`);
  }
  for (const uid of ["あ", "%E3%81", "%E3%81%82"]) {
    assertNoServerError(await browser.request("GET", `/oidc/interaction/${uid}`), `interaction ${uid}`);
  }
});

test("re-entering the password never signs the person out, whatever the password or return_to", async (t) => {
  // Attack it stops: a link to the reauthentication page with return_to=/あ. The right password
  // renewed the session cookie, then the redirect threw: the browser never got the new cookie and
  // its old one was void, so the person was signed out by proving who they are.
  const s = await buildTestApp(t);
  for (const password of ["right", "Kawasemi-Hoshi-5520-Yuki", ""]) {
    const account = await s.registerAccount();
    for (const value of awkwardReturnTo) {
      const form = await openForm(s, "/account/security/reauthenticate", account.cookie);
      const response = await postForm(s, "/account/security/reauthenticate", form, {
        _csrf: form.csrf,
        password: password === "right" ? account.password : password,
        return_to: value,
      });
      assertNoServerError(response, `reauthenticate (${password}) return_to=${value}`);
      // The cookie jar of the test app swaps in a renewed session cookie, as a browser would.
      assert.ok(
        await isSignedIn(s, account.cookie),
        `signed out by reauthentication (${password}, ${value})`,
      );
    }
  }
});

test("the reauthentication API never signs the person out, right, wrong or empty", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const reauthenticate = (password: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/session/reauthenticate",
      headers: { ...sameOrigin(s.config), cookie: account.cookie },
      payload: { password },
    });
  const answers = await Promise.all([
    reauthenticate(""),
    reauthenticate("Kawasemi-Hoshi-5520-Yuki"),
    reauthenticate(""),
    reauthenticate("Kawasemi-Hoshi-5520-Yuki"),
  ]);
  assertApiError(answers[0] as LightMyRequestResponse, 400, "invalid_request");
  assertApiError(answers[1] as LightMyRequestResponse, 401, "invalid_credentials");
  assert.ok(await isSignedIn(s, account.cookie));
  const right = await reauthenticate(account.password);
  assert.equal(right.statusCode, 200, right.body);
  assert.ok(await isSignedIn(s, account.cookie));
});
