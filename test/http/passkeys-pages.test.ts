import assert from "node:assert/strict";
import { after, test } from "node:test";
import { challengePages } from "../../src/flows/sign-in/challenge-browser.ts";
import { buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";
import { addPasskey } from "../support/passkeys.ts";
import { SoftwareAuthenticator } from "../support/software-authenticator.ts";
import { accountWithApp, call, oathtoolCode } from "../support/two-step.ts";

after(stopSharedPostgres);

// The passkey pages as a browser without JavaScript sees them: the list, rename and remove work as
// plain forms; the buttons that need WebAuthn are hidden and come from script files (strict CSP).

const passkeys = "/account/security/passkeys";

test("Login & security links to the passkeys, and the list shows name, dates and forms", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount({ locale: "en" });
  const security = await app.inject({
    method: "GET",
    url: "/account/security",
    headers: { cookie: owner.cookie },
  });
  assert.match(security.body, /<dt>Passkeys<\/dt><dd class="value">No passkeys yet\./);
  assert.match(security.body, /href="\/account\/security\/passkeys"/);
  assert.equal(
    (await addPasskey(app, owner.cookie, new SoftwareAuthenticator(), { name: "Work Mac" })).statusCode,
    201,
  );
  const list = await openForm(app, passkeys, owner.cookie);
  assert.match(list.body, /<strong>Work Mac<\/strong>/);
  assert.match(list.body, /Not used yet/);
  assert.match(list.body, /Passkeys need JavaScript/);
  assert.doesNotMatch(list.body, /<script>/, "no inline script");
  const again = await app.inject({
    method: "GET",
    url: "/account/security",
    headers: { cookie: owner.cookie },
  });
  assert.match(again.body, /1 passkey\(s\)/);
});

test("a passkey is renamed and removed through the page's forms", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const id = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<{
    passkey: { id: string };
  }>().passkey.id;
  const form = await openForm(app, passkeys, owner.cookie);
  const renamed = await postForm(app, `${passkeys}/${id}/rename`, form, {
    _csrf: form.csrf,
    name: "家のiPad",
  });
  assert.equal(location(renamed), `${passkeys}?done=renamed`);
  const row = await app.db
    .selectFrom("passkey")
    .select("name")
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  assert.equal(row.name, "家のiPad");
  const removed = await postForm(app, `${passkeys}/${id}/remove`, form, { _csrf: form.csrf });
  assert.equal(location(removed), `${passkeys}?done=removed`);
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 0);
});

test("a form without its CSRF token changes nothing", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const id = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<{
    passkey: { id: string };
  }>().passkey.id;
  const form = await openForm(app, passkeys, owner.cookie);
  const response = await postForm(app, `${passkeys}/${id}/remove`, form, { _csrf: "forged" });
  assert.equal(response.statusCode, 403);
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 1);
});

test("the page refuses to remove the last passkey of an account without a password, and says why", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount({ locale: "en" });
  const id = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<{
    passkey: { id: string };
  }>().passkey.id;
  await app.db
    .updateTable("account")
    .set({ password_hash: null })
    .where("id", "=", owner.accountId)
    .execute();
  const form = await openForm(app, passkeys, owner.cookie);
  const response = await postForm(app, `${passkeys}/${id}/remove`, form, { _csrf: form.csrf });
  assert.equal(response.statusCode, 409);
  assert.match(response.body, /would leave no way to sign in/);
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 1);
});

test("removing a passkey after the reauthentication window leads to the password page first", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const id = (await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).json<{
    passkey: { id: string };
  }>().passkey.id;
  const form = await openForm(app, passkeys, owner.cookie);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const response = await postForm(app, `${passkeys}/${id}/remove`, form, { _csrf: form.csrf });
  assert.equal(
    location(response),
    `/account/security/reauthenticate?return_to=${encodeURIComponent(passkeys)}`,
  );
  assert.equal((await app.db.selectFrom("passkey").select("id").execute()).length, 1);
});

test("the add page needs a recent sign-in, then shows the button hidden until the script finds WebAuthn", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const page = await app.inject({ method: "GET", url: `${passkeys}/add`, headers: { cookie: owner.cookie } });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<div data-passkey-block hidden>/);
  assert.match(page.body, /data-passkey-register/);
  assert.match(page.body, /<script src="\/passkeys\/webauthn-browser.js" defer><\/script>/);
  assert.match(page.body, /<script src="\/assets\/passkeys.js" defer><\/script>/);
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const old = await app.inject({ method: "GET", url: `${passkeys}/add`, headers: { cookie: owner.cookie } });
  assert.equal(old.statusCode, 303);
  assert.match(String(old.headers.location), /^\/account\/security\/reauthenticate\?return_to=/);
});

test("the sign-in page offers passkeys: a button and autofill on the identifier field", async (t) => {
  const app = await buildTestApp(t);
  const page = await app.inject({ method: "GET", url: "/sign-in?return_to=%2Faccount%2Fsessions" });
  assert.match(page.body, /autocomplete="username webauthn"/);
  assert.match(page.body, /data-passkey-sign-in data-return-to="\/account\/sessions"/);
  assert.match(page.body, /パスキーでログイン/);
});

test("the two-step page offers a passkey only to an account that has one", async (t) => {
  const app = await buildTestApp(t);
  const owner = await accountWithApp(app);
  // A browser that signs in through the JSON API (the passkey script does) gets the page's cookie too.
  const signedIn = await app.signIn({ identifier: owner.email, password: owner.password });
  const challengeId = signedIn.json<{ challenge: { id: string } }>().challenge.id;
  const cookie = flowCookieSetBy(signedIn, challengePages.cookie) ?? "";
  const without = await app.inject({
    method: "GET",
    url: `/sign-in/two-step/${challengeId}`,
    headers: { cookie },
  });
  assert.equal(without.statusCode, 200);
  assert.doesNotMatch(without.body, /data-passkey-second-step/);
  await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, app.clock.now()),
  });
  assert.equal((await addPasskey(app, owner.cookie, new SoftwareAuthenticator())).statusCode, 201);
  const withPasskey = await app.inject({
    method: "GET",
    url: `/sign-in/two-step/${challengeId}`,
    headers: { cookie },
  });
  assert.match(withPasskey.body, new RegExp(`data-passkey-second-step data-challenge-id="${challengeId}"`));
});

test("the WebAuthn browser library is served from this origin as JavaScript", async (t) => {
  const app = await buildTestApp(t);
  const response = await app.inject({ method: "GET", url: "/passkeys/webauthn-browser.js" });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers["content-type"]), /^text\/javascript/);
  assert.match(response.body, /SimpleWebAuthnBrowser/);
  const own = await app.inject({ method: "GET", url: "/assets/passkeys.js" });
  assert.equal(own.statusCode, 200);
});
