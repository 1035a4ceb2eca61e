import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as client from "openid-client";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import {
  csrfOf,
  deviceConfiguration,
  personGet,
  personPost,
  pollOnce,
  rawPoll,
  registerDevice,
  startDevice,
  withSetCookies,
} from "../support/device-flow.ts";
import { verifiedIdToken } from "../support/oidc-inject.ts";
import { accountWithApp, oathtoolCode } from "../support/two-step.ts";

// The OAuth 2.0 Device Authorization Grant (RFC 8628): a TV app (openid-client) shows a code, the
// person logs in at /oidc/device on their phone, enters it and allows; the app's poll gets tokens.

after(stopSharedPostgres);

type Person = { cookie: string; csrf: string; accountId: string };

/** A logged-in person on the device page: the cookie (with the form token's) and the form token. */
async function personAtDevicePage(s: TestApp, email: string): Promise<Person> {
  const account = await s.registerAccount({ email, name: "山田 花子" });
  const page = await personGet(s, account.cookie, "/oidc/device");
  assert.equal(page.statusCode, 200, page.body);
  assert.match(page.body, /コードを入力してください/);
  return { cookie: withSetCookies(account.cookie, page), csrf: csrfOf(page), accountId: account.accountId };
}

async function enterCode(s: TestApp, person: Person, typed: string, ip?: string) {
  return personPost(s, person.cookie, "/oidc/device", { _csrf: person.csrf, user_code: typed }, ip);
}

async function answer(s: TestApp, person: Person, typed: string, decision: "allow" | "deny", ip?: string) {
  return personPost(
    s,
    person.cookie,
    "/oidc/device/confirm",
    { _csrf: person.csrf, user_code: typed, decision },
    ip,
  );
}

/** "bcdf-ghjk" typed as a phone's Japanese keyboard gives it: full-width, lower case, a full-width dash. */
function fullWidth(code: string): string {
  return [...code.toLowerCase()]
    .map((char) => (char === "-" ? "－" : String.fromCharCode(char.charCodeAt(0) + 0xfee0)))
    .join("");
}

test("device flow: openid-client gets an ID token and tokens after the person logs in, enters the code (full-width, lower case) and allows", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  assert.equal(config.serverMetadata().device_authorization_endpoint, `${s.config.issuer.href}/device/auth`);
  const start = await startDevice(config);
  // The code is typed without confusion: eight BASE-20 consonants with a dash, no 0/O, 1/I.
  assert.match(start.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(new URL(start.verification_uri).pathname, "/oidc/device");
  assert.ok(start.expires_in <= 600, `short-lived: ${start.expires_in} s`);

  // Before the person answers, the device hears authorization_pending.
  const pending = await rawPoll(s, clientId, start.device_code);
  assert.equal(pending.json<{ error: string }>().error, "authorization_pending");

  const person = await personAtDevicePage(s, "device-hanako@example.jp");
  const confirm = await enterCode(s, person, fullWidth(start.user_code));
  assert.equal(confirm.statusCode, 200, confirm.body);
  assert.match(confirm.body, /テレビアプリにログインしますか？/);
  assert.match(confirm.body, new RegExp(start.user_code), "the code shown to compare with the TV");
  assert.match(confirm.body, /Eメールアドレス/);
  assert.match(confirm.body, /device-hanako@example\.jp/);
  const grantBlock = (body: string) => /<div class="grant">[\s\S]*?<\/div>/.exec(body)?.[0];
  const asked = grantBlock(confirm.body);
  assert.ok(asked, "the page says what the app can see and for how long");
  const done = await answer(s, person, start.user_code.replace("-", "").toLowerCase(), "allow");
  assert.equal(done.statusCode, 200, done.body);
  assert.match(done.body, /ログインしました/);
  // The same words as Apps and websites uses for the grant it made (src/oidc/grant-description.ts).
  const apps = await s.inject({
    method: "GET",
    url: "/account/security/apps",
    headers: { cookie: person.cookie },
  });
  assert.equal(grantBlock(apps.body), asked);

  const tokens = await pollOnce(config, start);
  const claims = tokens.claims();
  assert.equal(claims?.sub, person.accountId);
  assert.equal((await verifiedIdToken(s, String(tokens.id_token))).claims.acr, "urn:mamori:aal1");
  const me = await client.fetchUserInfo(config, tokens.access_token, person.accountId);
  assert.equal(me.email, "device-hanako@example.jp");
  assert.ok(tokens.refresh_token, "offline_access: a refresh token for the TV");
  const refreshed = await client.refreshTokenGrant(config, String(tokens.refresh_token));
  assert.ok(refreshed.access_token);
});

test("device code used once: six answers sent together, one wins; five polls together never yield two sets of tokens", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-once@example.jp");

  // The attack: a double submit or a race lets one code be answered twice (two grants for one code).
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => answer(s, person, start.user_code, "allow")),
  );
  const winners = answers.filter((r) => r.statusCode === 200);
  assert.equal(winners.length, 1, answers.map((r) => r.statusCode).join(","));
  for (const loser of answers.filter((r) => r.statusCode !== 200)) {
    assert.equal(loser.statusCode, 400);
    assert.match(loser.body, /このコードはすでに使われています/);
  }
  // Entering it again later: used.
  const again = await enterCode(s, person, start.user_code);
  assert.match(again.body, /このコードはすでに使われています/);

  // The attack: a copied device code polled alongside the TV's, for a second set of tokens. One
  // poll spends the code; a poll that finds it spent is a replay, and oidc-provider then revokes
  // the whole grant (RFC 6749 section 4.1.2's rule for codes): at most one set, perhaps none.
  const polls = await Promise.all(Array.from({ length: 5 }, () => rawPoll(s, clientId, start.device_code)));
  const issued = polls.filter((r) => r.statusCode === 200);
  assert.ok(issued.length <= 1, polls.map((r) => r.body).join("\n"));
  for (const other of polls.filter((r) => r.statusCode !== 200)) {
    assert.equal(other.json<{ error: string }>().error, "invalid_grant");
  }
});

test("a device code polled again after its tokens were issued is refused, and the tokens it gave end (replay)", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-replay@example.jp");
  assert.equal((await answer(s, person, start.user_code, "allow")).statusCode, 200);
  const tokens = await pollOnce(config, start);
  // The attack: someone who copied the device code polls after the TV did.
  const replay = await rawPoll(s, clientId, start.device_code);
  assert.equal(replay.statusCode, 400);
  assert.equal(replay.json<{ error: string }>().error, "invalid_grant");
  await assert.rejects(client.refreshTokenGrant(config, String(tokens.refresh_token)), (error: unknown) => {
    assert.ok(error instanceof client.ResponseBodyError, String(error));
    assert.equal(error.error, "invalid_grant");
    return true;
  });
});

test("device denied: the person refuses and the device hears access_denied", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-deny@example.jp");
  const refused = await answer(s, person, start.user_code, "deny");
  assert.equal(refused.statusCode, 200, refused.body);
  assert.match(refused.body, /許可しませんでした/);
  await assert.rejects(pollOnce(config, start), (error: unknown) => {
    assert.ok(error instanceof client.ResponseBodyError, String(error));
    assert.equal(error.error, "access_denied");
    return true;
  });
});

test("device code expired: after ten minutes the page says so and the device hears expired_token", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-late@example.jp");
  s.clock.advance(601);
  const late = await enterCode(s, person, start.user_code);
  assert.equal(late.statusCode, 400);
  assert.match(late.body, /有効期限が切れています/);
  const refused = await answer(s, person, start.user_code, "allow");
  assert.match(refused.body, /有効期限が切れています/);
  const poll = await rawPoll(s, clientId, start.device_code);
  assert.equal(poll.json<{ error: string }>().error, "expired_token");
});

test("wrong device codes are limited per address: 25 sent at once, 10 checked, the rest told to wait", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-guess@example.jp");
  // The attack: guessing a TV's code (to have one's own account signed in on it, or to read which
  // app asks) by trying many codes at once, before any count is written.
  const guesses = Array.from(
    { length: 25 },
    (_, i) => `BBBB-BB${"CDFGHJKLMNPQRSTVWXZ"[i % 19]}${"CDFGHJKLMNPQRSTVWXZ"[Math.floor(i / 19)]}`,
  );
  const answers = await Promise.all(guesses.map((guess) => enterCode(s, person, guess, "198.51.100.7")));
  const statuses = answers.map((r) => r.statusCode);
  assert.equal(statuses.filter((code) => code === 400).length, 10, statuses.join(","));
  assert.equal(statuses.filter((code) => code === 429).length, 15, statuses.join(","));
  const limited = answers.find((r) => r.statusCode === 429);
  assert.match(String(limited?.body), /コードの入力回数が多すぎます。\d+分ほど待ってから/);
  assert.ok(Number(limited?.headers["retry-after"]) > 0);
  // Even the right code is not looked up from that address now.
  const right = await enterCode(s, person, start.user_code, "198.51.100.7");
  assert.equal(right.statusCode, 429);
  // From another address it works.
  const elsewhere = await enterCode(s, person, start.user_code, "198.51.100.8");
  assert.equal(elsewhere.statusCode, 200, elsewhere.body);
});

test("one device code is entered at most 10 times, whatever the addresses: 15 at once, 10 answered", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-many@example.jp");
  // The attack: a code seen over someone's shoulder, or one guessed, tried from many addresses.
  const answers = await Promise.all(
    Array.from({ length: 15 }, (_, i) => enterCode(s, person, start.user_code, `192.0.2.${i + 1}`)),
  );
  const statuses = answers.map((r) => r.statusCode);
  assert.equal(statuses.filter((code) => code === 200).length, 10, statuses.join(","));
  assert.equal(statuses.filter((code) => code === 429).length, 5, statuses.join(","));
});

test("a malformed device code gets a clear 400, never a look-up or a 500", async (t) => {
  const s = await buildTestApp(t);
  const person = await personAtDevicePage(s, "device-typo@example.jp");
  for (const typed of ["", "ABCD", "BCDF-GHJ0", "x".repeat(5000), "ＢＣＤＦ－ＧＨＪ"]) {
    const response = await enterCode(s, person, typed);
    assert.equal(response.statusCode, 400, typed);
    assert.match(response.body, /コードは8文字の英字です/);
  }
  const noDecision = await personPost(s, person.cookie, "/oidc/device/confirm", {
    _csrf: person.csrf,
    user_code: "BCDF-GHJK",
    decision: "maybe",
  });
  assert.equal(noDecision.statusCode, 400);
});

test("the device page needs a login and the form token", async (t) => {
  const s = await buildTestApp(t);
  const signedOut = await personGet(s, "", "/oidc/device?user_code=BCDF-GHJK");
  assert.equal(signedOut.statusCode, 303);
  assert.equal(
    signedOut.headers.location,
    `/sign-in?return_to=${encodeURIComponent("/oidc/device?user_code=BCDF-GHJK")}`,
  );
  const person = await personAtDevicePage(s, "device-csrf@example.jp");
  // The attack: another site's form posts a code (its own TV's) for the signed-in person to allow.
  const forged = await personPost(s, person.cookie, "/oidc/device/confirm", {
    user_code: "BCDF-GHJK",
    decision: "allow",
  });
  assert.equal(forged.statusCode, 403);
});

test("two-step required when on: a person with two-step proves a code before any device code is looked up, and the ID token says aal2", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const owner = await accountWithApp(s);
  // The attack: a session that proved only the password (a stolen password, a trusted browser)
  // signs the account in on the thief's TV without the second factor.
  const page = await personGet(s, owner.cookie, "/oidc/device");
  assert.equal(page.statusCode, 303);
  assert.equal(
    page.headers.location,
    `/account/security/step-up?return_to=${encodeURIComponent("/oidc/device")}`,
  );
  const anyCsrf = await personGet(s, owner.cookie, "/account/security/step-up?return_to=%2Foidc%2Fdevice");
  assert.equal(anyCsrf.statusCode, 200, anyCsrf.body);
  const cookie = withSetCookies(owner.cookie, anyCsrf);
  const csrf = csrfOf(anyCsrf);
  const tried = await personPost(s, cookie, "/oidc/device/confirm", {
    _csrf: csrf,
    user_code: start.user_code,
    decision: "allow",
  });
  assert.equal(tried.statusCode, 303, "no answer without the second factor");
  assert.match(String(tried.headers.location), /^\/account\/security\/step-up/);
  assert.equal(
    (await rawPoll(s, clientId, start.device_code)).json<{ error: string }>().error,
    "authorization_pending",
  );

  const methodId = /name="method_id" value="([^"]+)"/.exec(anyCsrf.body)?.[1];
  assert.ok(methodId);
  const proved = await personPost(s, cookie, "/account/security/step-up", {
    _csrf: csrf,
    return_to: "/oidc/device",
    method_id: methodId,
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  assert.equal(proved.statusCode, 303, proved.body);
  assert.equal(proved.headers.location, "/oidc/device");
  const stepped = withSetCookies(cookie, proved);
  const devicePage = await personGet(s, stepped, "/oidc/device");
  assert.equal(devicePage.statusCode, 200, devicePage.body);
  const allowed = await personPost(s, withSetCookies(stepped, devicePage), "/oidc/device/confirm", {
    _csrf: csrfOf(devicePage),
    user_code: start.user_code,
    decision: "allow",
  });
  assert.equal(allowed.statusCode, 200, allowed.body);
  const tokens = await pollOnce(config, start);
  const { claims } = await verifiedIdToken(s, String(tokens.id_token));
  assert.equal(claims.acr, "urn:mamori:aal2");
  assert.ok(claims.amr?.includes("otp"), JSON.stringify(claims.amr));
});

test("a device client registered with --require-two-step is refused by a person without two-step, and the device gets nothing", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s, { requireTwoStep: true });
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-aal1@example.jp");
  const entered = await enterCode(s, person, start.user_code);
  assert.equal(entered.statusCode, 403);
  assert.match(entered.body, /2段階認証が必要です/);
  const forced = await answer(s, person, start.user_code, "allow");
  assert.equal(forced.statusCode, 403);
  assert.equal(
    (await rawPoll(s, clientId, start.device_code)).json<{ error: string }>().error,
    "authorization_pending",
  );
});

test("the device's tokens end when the session that allowed it is signed out", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-out@example.jp");
  assert.equal((await answer(s, person, start.user_code, "allow")).statusCode, 200);
  const tokens = await pollOnce(config, start);
  const signedOut = await personPost(s, person.cookie, "/sign-out", { _csrf: person.csrf });
  assert.ok(signedOut.statusCode < 400, signedOut.body);
  await assert.rejects(client.refreshTokenGrant(config, String(tokens.refresh_token)), (error: unknown) => {
    assert.ok(error instanceof client.ResponseBodyError, String(error));
    assert.equal(error.error, "invalid_grant");
    return true;
  });
});

test("a device the person allowed is listed under Apps and websites, and removing its access ends the device's tokens", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const config = await deviceConfiguration(s, clientId);
  const start = await startDevice(config);
  const person = await personAtDevicePage(s, "device-apps@example.jp");
  assert.equal((await answer(s, person, start.user_code, "allow")).statusCode, 200);
  const tokens = await pollOnce(config, start);

  const apps = await personGet(s, person.cookie, "/api/v1/security/apps");
  assert.equal(apps.statusCode, 200, apps.body);
  const listed = apps.json<{ apps: { clientId: string; name: string }[] }>().apps;
  assert.deepEqual(
    listed.map((app) => [app.clientId, app.name]),
    [[clientId, "テレビアプリ"]],
  );
  // The attack: a TV in a hotel room or a sold-on kiosk keeps the account; the owner ends it here.
  const page = await personGet(s, person.cookie, "/account/security/apps");
  const removed = await personPost(s, withSetCookies(person.cookie, page), "/account/security/apps/remove", {
    _csrf: csrfOf(page),
    client: clientId,
  });
  assert.equal(removed.statusCode, 303, removed.body);
  await assert.rejects(client.refreshTokenGrant(config, String(tokens.refresh_token)), (error: unknown) => {
    assert.ok(error instanceof client.ResponseBodyError, String(error));
    assert.equal(error.error, "invalid_grant");
    return true;
  });
});

test("the device pages speak English to an English browser", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await registerDevice(s);
  const start = await startDevice(await deviceConfiguration(s, clientId));
  const account = await s.registerAccount({ email: "device-en@example.jp", locale: "en" });
  const page = await s.inject({
    method: "GET",
    url: "/oidc/device",
    headers: { host: s.config.publicUrl.host, cookie: account.cookie, "accept-language": "en-GB,en;q=0.9" },
  });
  assert.equal(page.statusCode, 200, page.body);
  assert.match(page.body, /<html lang="en">/);
  assert.match(page.body, /Enter the code/);
  const person = {
    cookie: withSetCookies(account.cookie, page),
    csrf: csrfOf(page),
    accountId: account.accountId,
  };
  const confirm = await s.inject({
    method: "POST",
    url: "/oidc/device",
    headers: {
      host: s.config.publicUrl.host,
      cookie: person.cookie,
      origin: s.config.publicUrl.origin,
      "accept-language": "en",
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ _csrf: person.csrf, user_code: start.user_code }).toString(),
  });
  assert.equal(confirm.statusCode, 200, confirm.body);
  assert.match(confirm.body, /Sign in to テレビアプリ\?/);
  assert.match(confirm.body, /Don&#39;t allow|Don't allow/);
});
