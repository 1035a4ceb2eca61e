import assert from "node:assert/strict";
import { after, test } from "node:test";
import { runHousekeeping } from "../../src/operations/housekeeping.ts";
import type { TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";
import {
  registerShop,
  Browser as ShopBrowser,
  signInAtShop,
  verifiedIdToken,
} from "../support/oidc-inject.ts";
import { requestSignal } from "../support/patience.ts";
import { applePost, sessionCookieOf, setUp, tripTo } from "../support/social.ts";
import { accountWithApp } from "../support/two-step.ts";

// Sign-in with LINE, Yahoo! JAPAN ID and Google (issue 19), end to end against a fake provider on
// loopback that signs, omits and answers as the real ones do (test/support/fake-oidc-provider.ts).
// Runs on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

async function identityCount(s: TestApp): Promise<number> {
  const rows = await s.db.selectFrom("federated_identity").select("id").execute();
  return rows.length;
}

test("a first sign-in with Google and a verified email creates an account without a password, and signs in", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-1", name: "山田 花子", email: "hanako@example.jp", emailVerified: true };
  const trip = await tripTo(s, "google");
  assert.equal(location(trip.response), "/account");
  assert.ok(sessionCookieOf(s, trip.response), "signed in");
  const account = await s.db
    .selectFrom("account")
    .selectAll()
    .where("email", "=", "hanako@example.jp")
    .executeTakeFirstOrThrow();
  assert.equal(account.password_hash, null);
  assert.equal(account.name, "山田 花子");
  const session = await s.db
    .selectFrom("session")
    .select("factors")
    .where("account_id", "=", account.id)
    .executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(session.factors), ["federated"]);
  // The next sign-in finds the same account through the link, not a second one.
  const again = await tripTo(s, "google");
  assert.equal(location(again.response), "/account");
  assert.equal((await s.db.selectFrom("account").select("id").execute()).length, 1);
  assert.equal(await identityCount(s), 1);
});

test("an existing account is never linked by email match alone: a provider's verified email of an account signs no one in", async (t) => {
  // Attack: someone opens a Google account (or a generic provider's) with the victim's address,
  // verified there, and signs in to Mamori with it to take over the victim's account.
  const { s, fakes } = await setUp(t);
  const victim = await s.registerAccount({ email: "victim@example.jp" });
  fakes.google.person = { sub: "attacker", email: "victim@example.jp", emailVerified: true };
  const trip = await tripTo(s, "google");
  assert.equal(trip.response.statusCode, 409);
  assert.match(trip.response.body, /data-reason="email_in_use"/);
  assert.equal(sessionCookieOf(s, trip.response), undefined);
  assert.equal(await identityCount(s), 0);
  const sessions = await s.db
    .selectFrom("session")
    .select("id")
    .where("account_id", "=", victim.accountId)
    .execute();
  assert.equal(sessions.length, 1, "only the victim's own registration session");
});

test("an unverified email from the provider is not trusted: the person proves an email with a code first", async (t) => {
  // Attack: a provider that lets anyone type any address (email_verified false) would otherwise
  // create accounts under other people's addresses.
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-2", name: "Taro", email: "someone-else@example.jp", emailVerified: false };
  const trip = await tripTo(s, "google");
  const emailPage = location(trip.response);
  assert.match(emailPage, /^\/sign-in\/federation\/email\/fed_/);
  assert.equal(
    await s.db
      .selectFrom("account")
      .select("id")
      .execute()
      .then((r) => r.length),
    0,
  );
  const form = await openForm(s, emailPage, trip.cookie);
  const sent = await postForm(s, emailPage, form, { _csrf: form.csrf, email: "taro@example.jp" });
  assert.equal(sent.statusCode, 200, sent.body);
  const code = await s.latestCode("taro@example.jp");
  assert.ok(code);
  const verified = await postForm(s, `${emailPage}/code`, form, { _csrf: form.csrf, code });
  assert.equal(location(verified), "/account");
  const account = await s.db
    .selectFrom("account")
    .selectAll()
    .where("email", "=", "taro@example.jp")
    .executeTakeFirstOrThrow();
  assert.equal(account.password_hash, null);
  assert.equal(await identityCount(s), 1);
});

test("LINE without the email permission: HS256 ID token checked with the channel secret, then the email step", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.line.person = { sub: "Uline1", name: "LINE太郎" };
  const trip = await tripTo(s, "line");
  assert.match(location(trip.response), /^\/sign-in\/federation\/email\//);
});

test("LINE: an ID token not signed with the channel secret is refused", async (t) => {
  // Attack: a forged LINE ID token (any key but the channel secret) naming someone else's sub.
  const { s, fakes } = await setUp(t);
  fakes.line.person = { sub: "Uline2", email: "x@example.jp" };
  fakes.line.tamperNext = { wrongKey: true };
  const trip = await tripTo(s, "line");
  assert.equal(trip.response.statusCode, 400);
  assert.match(trip.response.body, /data-reason="refused"/);
});

test("Yahoo! JAPAN ID: the verified email comes from UserInfo (YConnect v2) and makes the account", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.yahoo_japan.person = { sub: "yj-1", name: "Yahoo 花子", email: "yj@example.jp", emailVerified: true };
  const trip = await tripTo(s, "yahoo_japan");
  assert.equal(location(trip.response), "/account");
  assert.ok(
    await s.db.selectFrom("account").select("id").where("email", "=", "yj@example.jp").executeTakeFirst(),
  );
});

test("an ID token for another client (aud), with a wrong nonce, or signed by another key is refused", async (t) => {
  // Attack: a token the provider issued to another site (aud), or one captured from an earlier
  // sign-in (nonce), replayed into Mamori's callback.
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-3", email: "g3@example.jp", emailVerified: true };
  for (const tamper of [{ aud: "another-client" }, { nonce: "an-old-nonce" }, { wrongKey: true }]) {
    fakes.google.tamperNext = tamper;
    const trip = await tripTo(s, "google");
    assert.equal(trip.response.statusCode, 400, JSON.stringify(tamper));
    assert.match(trip.response.body, /data-reason="refused"/);
    assert.equal(sessionCookieOf(s, trip.response), undefined);
  }
  assert.equal(await identityCount(s), 0);
});

test("the customer cancelling at the provider (error=access_denied) is told so, and nothing is made", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.google.cancelNext = true;
  const trip = await tripTo(s, "google");
  assert.equal(trip.response.statusCode, 400);
  assert.match(trip.response.body, /data-reason="cancelled"/);
  assert.equal(await identityCount(s), 0);
});

test("a replayed callback is refused: the flow is spent by its first callback, even when sent many times at once", async (t) => {
  // Attack: a callback URL (code and state) from the browser's history or a log, sent again.
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-4", email: "g4@example.jp", emailVerified: true };
  const trip = await tripTo(s, "google");
  assert.equal(location(trip.response), "/account");
  const replay = await s.inject({ method: "GET", url: trip.callbackPath, headers: { cookie: trip.cookie } });
  assert.equal(replay.statusCode, 403);
  // The same, 10 at once on a fresh flow: one sign-in, one code exchange.
  const page = await openForm(s, "/sign-in");
  const started = await postForm(s, "/sign-in/federation/google", page, { _csrf: page.csrf });
  const atProvider = await fetch(location(started), { redirect: "manual", signal: requestSignal() });
  const callback = new URL(String(atProvider.headers.get("location")));
  const cookie = `${page.cookie}; ${flowCookieSetBy(started, "mamori_federation")}`;
  const before = fakes.google.exchanged;
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      s.inject({ method: "GET", url: `${callback.pathname}${callback.search}`, headers: { cookie } }),
    ),
  );
  assert.equal(answers.filter((a) => a.statusCode === 303).length, 1);
  assert.equal(fakes.google.exchanged - before, 1);
});

test("a callback in another browser, or with a forged state, is refused and does not spend the flow", async (t) => {
  // Attack (login CSRF): the attacker signs in with their own Google account, stops before the
  // callback, and sends that URL to the victim, who would then be signed in to the attacker's account.
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "attacker-g", email: "attacker@example.jp", emailVerified: true };
  const page = await openForm(s, "/sign-in");
  const started = await postForm(s, "/sign-in/federation/google", page, { _csrf: page.csrf });
  const atProvider = await fetch(location(started), { redirect: "manual", signal: requestSignal() });
  const callback = new URL(String(atProvider.headers.get("location")));
  const url = `${callback.pathname}${callback.search}`;
  const victim = await s.inject({ method: "GET", url, headers: {} });
  assert.equal(victim.statusCode, 403);
  assert.equal(sessionCookieOf(s, victim), undefined);
  const forged = new URL(callback.href);
  forged.searchParams.set("state", "fed_FORGEDSTATEFORGEDSTATEFORGED");
  const cookie = `${page.cookie}; ${flowCookieSetBy(started, "mamori_federation")}`;
  const withForgedState = await s.inject({
    method: "GET",
    url: `${forged.pathname}${forged.search}`,
    headers: { cookie },
  });
  assert.equal(withForgedState.statusCode, 403);
  // The browser that started it still completes it.
  const own = await s.inject({ method: "GET", url, headers: { cookie } });
  assert.equal(location(own), "/account");
});

test("linking needs the signed-in owner; the owner is mailed; two-step still applies to a linked sign-in", async (t) => {
  const { s, fakes } = await setUp(t);
  const owner = await accountWithApp(s);
  fakes.google.person = { sub: "g-owner", email: owner.email, emailVerified: true };
  const linked = await tripTo(s, "google", { cookie: owner.cookie, purpose: "link" });
  assert.equal(location(linked.response), "/account/security/sign-in-methods?done=linked");
  const mails = await s.messagesTo(owner.email);
  assert.ok(
    mails.some((m) => m.template === "federation_linked"),
    "owner mailed on link",
  );
  // Signing in with the linked Google account asks for the app's code, as after a password.
  const signIn = await tripTo(s, "google");
  assert.match(location(signIn.response), /^\/sign-in\/two-step\/sif_/);
  assert.equal(sessionCookieOf(s, signIn.response), undefined);
});

test("a suspended account is refused at social sign-in as at password sign-in", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-5", email: "g5@example.jp", emailVerified: true };
  await tripTo(s, "google");
  await s.db
    .updateTable("account")
    .set({ status: "suspended" })
    .where("email", "=", "g5@example.jp")
    .execute();
  const trip = await tripTo(s, "google");
  assert.equal(trip.response.statusCode, 403);
  assert.match(trip.response.body, /data-reason="account_suspended"/);
});

test("the sign-in page shows a button for each configured provider, in the provider's words", async (t) => {
  const { s } = await setUp(t);
  const page = await s.inject({ method: "GET", url: "/sign-in", headers: { "accept-language": "ja" } });
  assert.match(page.body, /Googleでログイン/);
  assert.match(page.body, /LINEでログイン/);
  assert.match(page.body, /Yahoo! JAPAN IDでログイン/);
  assert.match(page.body, /Appleでサインイン/, "Apple's own required title");
  const english = await s.inject({ method: "GET", url: "/sign-in", headers: { "accept-language": "en" } });
  assert.match(english.body, /Sign in with LINE/);
  assert.match(english.body, /Sign in with Apple/);
  const signUp = await s.inject({ method: "GET", url: "/sign-up", headers: { "accept-language": "ja" } });
  assert.match(signUp.body, /LINEで登録/);
  assert.match(signUp.body, /Googleで登録/);
});

test("Sign in with Apple: the form_post answer (a cross-site POST) signs in; the name posted the first time is kept", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.apple.person = {
    sub: "001234.apple",
    name: "山田 花子",
    email: "abc123@privaterelay.appleid.com",
    emailVerified: true,
  };
  const trip = await tripTo(s, "apple");
  assert.equal(location(trip.response), "/account");
  const account = await s.db
    .selectFrom("account")
    .selectAll()
    .where("email", "=", "abc123@privaterelay.appleid.com")
    .executeTakeFirstOrThrow();
  assert.equal(account.name, "山田 花子", "the name Apple posts only on the first authorization");
  // The client secret was an ES256 JWT from the team key (the fake checked it against the public half).
  assert.equal(fakes.apple.clientSecrets.length, 1);
  const again = await tripTo(s, "apple");
  assert.equal(location(again.response), "/account");
  assert.equal(fakes.apple.clientSecrets.length, 2);
});

test("Apple's form_post callback is the only cross-site POST let in, and it still needs this browser's flow cookie", async (t) => {
  // Attack: the origin check is lifted for Apple's callback path; without the state and the flow
  // cookie, an attacker's page could post its own Apple answer into the victim's browser (login CSRF).
  const { s, fakes } = await setUp(t);
  fakes.apple.person = {
    sub: "001234.attacker",
    email: "attacker@privaterelay.appleid.com",
    emailVerified: true,
  };
  const page = await openForm(s, "/sign-in");
  const started = await postForm(s, "/sign-in/federation/apple", page, { _csrf: page.csrf });
  const flowCookie = String(started.headers["set-cookie"]);
  assert.match(flowCookie, /SameSite=None/i, "the flow cookie must reach Apple's cross-site POST");
  assert.match(flowCookie, /Secure/i);
  const atProvider = await fetch(location(started), { redirect: "manual", signal: requestSignal() });
  const posted = applePost(await atProvider.text());
  const crossSite = {
    origin: "https://appleid.apple.com",
    "sec-fetch-site": "cross-site",
    "content-type": "application/x-www-form-urlencoded",
  };
  const victim = await s.inject({
    method: "POST",
    url: posted.path,
    headers: crossSite,
    payload: posted.body,
  });
  assert.equal(victim.statusCode, 403);
  assert.equal(sessionCookieOf(s, victim), undefined);
  // Any other path posted from another site is still refused by the origin check.
  const elsewhere = await s.inject({
    method: "POST",
    url: "/sign-in/federation/google/callback",
    headers: crossSite,
    payload: posted.body,
  });
  assert.equal(elsewhere.statusCode, 403);
  assert.doesNotMatch(elsewhere.body, /data-reason/, "refused by the origin check, before the route");
  // A GET with Apple's parameters in the query is not Apple's answer either.
  const query = await s.inject({
    method: "GET",
    url: `${posted.path}?${posted.body}`,
    headers: { cookie: `${page.cookie}; ${flowCookieSetBy(started, "mamori_federation")}` },
  });
  assert.equal(query.statusCode, 403);
});

test("the provider's own MFA (amr) replaces two-step only when the operator accepts it (off by default)", async (t) => {
  // Without the option, a provider account protected by a password alone must not skip the
  // account's second step just by claiming "mfa".
  for (const accept of [false, true]) {
    const { s, fakes } = await setUp(t, accept ? { MAMORI_FEDERATION_GOOGLE_ACCEPT_AMR: "true" } : {});
    const owner = await accountWithApp(s);
    fakes.google.person = {
      sub: `g-mfa-${accept}`,
      email: owner.email,
      emailVerified: true,
      amr: ["pwd", "mfa"],
    };
    await tripTo(s, "google", { cookie: owner.cookie, purpose: "link" });
    const trip = await tripTo(s, "google");
    if (!accept) {
      assert.match(location(trip.response), /^\/sign-in\/two-step\//);
      continue;
    }
    assert.equal(location(trip.response), "/account");
    const cookie = sessionCookieOf(s, trip.response);
    assert.ok(cookie);
    const sessions = await s.db
      .selectFrom("session")
      .select("factors")
      .where("account_id", "=", owner.accountId)
      .execute();
    assert.ok(sessions.some((row) => row.factors === JSON.stringify(["federated", "federated_mfa"])));
  }
});

test("a closed account is refused at social sign-in as at password sign-in", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.line.person = { sub: "U-closed" };
  const owner = await s.registerAccount({ email: "closed@example.jp" });
  await tripTo(s, "line", { cookie: owner.cookie, purpose: "link" });
  await s.db.updateTable("account").set({ status: "closed" }).where("id", "=", owner.accountId).execute();
  const trip = await tripTo(s, "line");
  assert.equal(trip.response.statusCode, 403);
  assert.match(trip.response.body, /data-reason="account_closed"/);
});

test("the email step never reaches an existing account: its address gets a decoy code that never works, its owner a mail", async (t) => {
  // Attack: a LINE account without email; the attacker types the victim's address at the email
  // step, hoping to be linked to (or to learn of) the victim's account.
  const { s, fakes } = await setUp(t);
  const victim = await s.registerAccount({ email: "victim@example.jp" });
  fakes.line.person = { sub: "U-attacker" };
  const trip = await tripTo(s, "line");
  const emailPage = location(trip.response);
  const form = await openForm(s, emailPage, trip.cookie);
  const codesBefore = (await s.messagesTo("victim@example.jp")).filter(
    (m) => m.template === "registration_code",
  ).length;
  const sent = await postForm(s, emailPage, form, { _csrf: form.csrf, email: "victim@example.jp" });
  assert.equal(sent.statusCode, 200, "the same answer as for a new address");
  const mails = await s.messagesTo("victim@example.jp");
  assert.ok(mails.some((m) => m.template === "registration_existing_account"));
  assert.equal(
    mails.filter((m) => m.template === "registration_code").length,
    codesBefore,
    "no code reaches anyone",
  );
  for (const code of ["000000", "123456"]) {
    const tried = await postForm(s, `${emailPage}/code`, form, { _csrf: form.csrf, code });
    assert.notEqual(tried.statusCode, 303);
  }
  assert.deepEqual(
    await s.db
      .selectFrom("federated_identity")
      .select("id")
      .where("account_id", "=", victim.accountId)
      .execute(),
    [],
  );
});

test("sign-in activity names the provider of a social sign-in and of a link", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.yahoo_japan.person = { sub: "yj-activity", email: "activity@example.jp", emailVerified: true };
  const trip = await tripTo(s, "yahoo_japan");
  const cookie = sessionCookieOf(s, trip.response);
  assert.ok(cookie);
  await tripTo(s, "yahoo_japan");
  const page = await s.inject({
    method: "GET",
    url: "/account/security/activity",
    headers: { cookie, "accept-language": "ja" },
  });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /Yahoo! JAPAN IDで本人確認/);
});

test("starting trips to a provider is limited per address (60 a minute), also when all are sent at once", async (t) => {
  // Abuse: a script filling the flow table (each start stores a row) from one address.
  const { s } = await setUp(t);
  const page = await openForm(s, "/sign-in");
  const answers = await Promise.all(
    Array.from({ length: 70 }, () => postForm(s, "/sign-in/federation/google", page, { _csrf: page.csrf })),
  );
  assert.equal(answers.filter((a) => a.statusCode === 303).length, 60);
  const refused = answers.filter((a) => a.statusCode === 429);
  assert.equal(refused.length, 10);
  assert.ok(refused.every((a) => a.headers["retry-after"] !== undefined));
  assert.equal((await s.db.selectFrom("federation_flow").select("id").execute()).length, 60);
});

test("housekeeping deletes expired trips (their PKCE verifiers and nonces); a late callback finds nothing", async (t) => {
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-late", email: "late@example.jp", emailVerified: true };
  const page = await openForm(s, "/sign-in");
  const started = await postForm(s, "/sign-in/federation/google", page, { _csrf: page.csrf });
  const atProvider = await fetch(location(started), { redirect: "manual", signal: requestSignal() });
  const callback = new URL(String(atProvider.headers.get("location")));
  s.clock.advance(601);
  await runHousekeeping(s.deps);
  assert.equal((await s.db.selectFrom("federation_flow").select("id").execute()).length, 0);
  const late = await s.inject({
    method: "GET",
    url: `${callback.pathname}${callback.search}`,
    headers: { cookie: `${page.cookie}; ${flowCookieSetBy(started, "mamori_federation")}` },
  });
  assert.equal(late.statusCode, 403);
});

test("OIDC to shops reports a social sign-in honestly: amr fed, not pwd", async (t) => {
  // A shop deciding on amr must not be told a password was checked when a provider vouched instead.
  const { s, fakes } = await setUp(t);
  fakes.google.person = { sub: "g-shop", email: "shopper@example.jp", emailVerified: true };
  const trip = await tripTo(s, "google");
  const cookie = sessionCookieOf(s, trip.response);
  assert.ok(cookie);
  const shop = await registerShop(s);
  const browser = new ShopBrowser(s);
  browser.setCookieHeader(cookie);
  const tokens = await signInAtShop(s, shop, browser);
  const { claims } = await verifiedIdToken(s, tokens.id_token);
  assert.deepEqual(claims.amr, ["fed"]);
});
