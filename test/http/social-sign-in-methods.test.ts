import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { location, openForm, postForm } from "../support/forms.ts";
import { sessionCookieOf, setUp, tripTo } from "../support/social.ts";

// Login & security -> ログイン方法 (issue 19): the ways into an account, linking and unlinking
// providers — never the last way in —, adding a password to an account a provider made, and
// proving the owner again with a linked provider. SQLite, and PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const methodsPath = "/account/security/sign-in-methods";

/** A passwordless account made by a first Google sign-in; its session cookie. */
async function googleAccount(
  s: TestApp,
  fakes: Awaited<ReturnType<typeof setUp>>["fakes"],
  email = "hanako@example.jp",
): Promise<{ cookie: string; accountId: string }> {
  fakes.google.person = { sub: `g-${email}`, name: "山田 花子", email, emailVerified: true };
  const trip = await tripTo(s, "google");
  const cookie = sessionCookieOf(s, trip.response);
  assert.ok(cookie);
  const account = await s.db
    .selectFrom("account")
    .select("id")
    .where("email", "=", email)
    .executeTakeFirstOrThrow();
  return { cookie, accountId: account.id };
}

async function identitiesOf(s: TestApp, accountId: string): Promise<string[]> {
  const rows = await s.db
    .selectFrom("federated_identity")
    .select("provider")
    .where("account_id", "=", accountId)
    .execute();
  return rows.map((r) => r.provider).sort();
}

test("ログイン方法 lists the password, the passkeys and the linked providers, with a button to link the others", async (t) => {
  const { s, fakes } = await setUp(t);
  const owner = await googleAccount(s, fakes);
  const page = await s.inject({
    method: "GET",
    url: methodsPath,
    headers: { cookie: owner.cookie, "accept-language": "ja" },
  });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /ログイン方法/);
  assert.match(page.body, /未設定/, "no password yet");
  assert.match(page.body, /data-provider="google"><dt>Google<\/dt><dd>連携済み/);
  assert.match(page.body, /LINEと連携/);
  assert.match(page.body, /Yahoo! JAPAN IDと連携/);
});

test("never the last way in: the only linked provider of an account without password or passkey cannot be unlinked", async (t) => {
  // Attack on the owner (or a slip): an account left with no way to sign in at all.
  const { s, fakes } = await setUp(t);
  const owner = await googleAccount(s, fakes);
  const form = await openForm(s, methodsPath, owner.cookie);
  const identity = /name="identity" value="([^"]+)"/.exec(form.body)?.[1];
  assert.ok(identity);
  const refused = await postForm(s, `${methodsPath}/unlink`, form, { _csrf: form.csrf, identity });
  assert.equal(refused.statusCode, 409);
  assert.deepEqual(await identitiesOf(s, owner.accountId), ["google"]);
});

test("never the last way in, when two unlinks are sent at once: one of two providers stays", async (t) => {
  const { s, fakes } = await setUp(t);
  const owner = await googleAccount(s, fakes);
  fakes.line.person = { sub: "Uowner" };
  const linked = await tripTo(s, "line", { cookie: owner.cookie, purpose: "link" });
  assert.equal(location(linked.response), `${methodsPath}?done=linked`);
  assert.deepEqual(await identitiesOf(s, owner.accountId), ["google", "line"]);
  const form = await openForm(s, methodsPath, owner.cookie);
  const ids = [...form.body.matchAll(/name="identity" value="([^"]+)"/g)].map((m) => m[1] ?? "");
  assert.equal(ids.length, 2);
  const answers = await Promise.all(
    [...ids, ...ids, ...ids].map((identity) =>
      postForm(s, `${methodsPath}/unlink`, form, { _csrf: form.csrf, identity }),
    ),
  );
  assert.equal(
    answers.filter((a) => a.statusCode === 303).length,
    1,
    answers.map((a) => a.statusCode).join(","),
  );
  assert.equal((await identitiesOf(s, owner.accountId)).length, 1);
  const mails = await s.messagesTo("hanako@example.jp");
  assert.equal(mails.filter((m) => m.template === "federation_unlinked").length, 1, "owner mailed on unlink");
});

test("a passwordless account adds a password, then signs in with it; the password page sends it to the add page", async (t) => {
  const { s, fakes } = await setUp(t);
  const owner = await googleAccount(s, fakes);
  const change = await s.inject({
    method: "GET",
    url: "/account/security/password",
    headers: { cookie: owner.cookie },
  });
  assert.equal(location(change), `${methodsPath}/password`);
  const form = await openForm(s, `${methodsPath}/password`, owner.cookie);
  const password = "Yamazakura-Tsuki-4417-Kawa";
  const added = await postForm(s, `${methodsPath}/password`, form, {
    _csrf: form.csrf,
    newPassword: password,
  });
  assert.equal(location(added), `${methodsPath}?done=password`);
  const signedIn = await s.signIn({ identifier: "hanako@example.jp", password });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  // With a password, Google may be unlinked: another way in is left.
  const methods = await openForm(
    s,
    methodsPath,
    `${form.cookie
      .split("; ")
      .filter((c) => !c.startsWith(s.config.sessionCookieName))
      .join("; ")}; ${sessionCookieOf(s, added) ?? owner.cookie}`,
  );
  const identity = /name="identity" value="([^"]+)"/.exec(methods.body)?.[1];
  assert.ok(identity);
  const unlinked = await postForm(s, `${methodsPath}/unlink`, methods, { _csrf: methods.csrf, identity });
  assert.equal(location(unlinked), `${methodsPath}?done=unlinked`);
});

test("linking needs a recent sign-in: an old session is sent to prove the owner first", async (t) => {
  // Attack: a browser left signed in days ago; whoever sits at it links their own LINE account.
  const { s, fakes } = await setUp(t);
  const owner = await s.registerAccount();
  s.clock.advance(s.config.limits.reauthenticationWindowSeconds + 1);
  const page = await openForm(s, "/sign-in", owner.cookie);
  const started = await postForm(s, "/sign-in/federation/line", page, { _csrf: page.csrf, purpose: "link" });
  assert.match(location(started), /^\/account\/security\/reauthenticate\?return_to=/);
  assert.equal(fakes.line.exchanged, 0);
});

test("a provider identity linked to one account cannot be linked to another", async (t) => {
  const { s, fakes } = await setUp(t);
  await googleAccount(s, fakes, "first@example.jp");
  const other = await s.registerAccount({ email: "second@example.jp" });
  // The same Google person (sub) tries to be linked to the second account too.
  fakes.google.person = { sub: "g-first@example.jp", email: "first@example.jp", emailVerified: true };
  const trip = await tripTo(s, "google", { cookie: other.cookie, purpose: "link" });
  assert.equal(trip.response.statusCode, 409);
  assert.match(trip.response.body, /data-reason="identity_in_use"/);
  assert.deepEqual(await identitiesOf(s, other.accountId), []);
});

test("a linked provider proves the owner again (reauthentication); another person's provider account does not", async (t) => {
  const { s, fakes } = await setUp(t);
  const owner = await googleAccount(s, fakes);
  s.clock.advance(s.config.limits.reauthenticationWindowSeconds + 1);
  const reauth = await s.inject({
    method: "GET",
    url: "/account/security/reauthenticate?return_to=/account/security/sign-in-methods/password",
    headers: { cookie: owner.cookie, "accept-language": "ja" },
  });
  assert.match(reauth.body, /Googleで本人確認/);
  // Someone else's Google account at the owner's unlocked browser proves nothing.
  fakes.google.person = { sub: "g-stranger", email: "stranger@example.jp", emailVerified: true };
  const stranger = await tripTo(s, "google", {
    cookie: owner.cookie,
    purpose: "reauth",
    returnTo: `${methodsPath}/password`,
  });
  assert.equal(stranger.response.statusCode, 400);
  fakes.google.person = { sub: "g-hanako@example.jp", email: "hanako@example.jp", emailVerified: true };
  const proven = await tripTo(s, "google", {
    cookie: owner.cookie,
    purpose: "reauth",
    returnTo: `${methodsPath}/password`,
  });
  assert.equal(location(proven.response), `${methodsPath}/password`);
  const page = await s.inject({
    method: "GET",
    url: `${methodsPath}/password`,
    headers: { cookie: owner.cookie },
  });
  assert.equal(page.statusCode, 200);
});

test("a passwordless account sets a password through the usual reset, then signs in with it", async (t) => {
  const { s, fakes } = await setUp(t);
  await googleAccount(s, fakes, "reset@example.jp");
  const started = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: "reset@example.jp" },
  });
  assert.equal(started.statusCode, 202, started.body);
  const id = started.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const code = await s.latestCode("reset@example.jp", "password_reset_code");
  assert.ok(code);
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${id}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const password = "Hoshizora-Umi-9034-Kitsune";
  const completed = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${id}/complete`,
    payload: { newPassword: password },
  });
  assert.equal(completed.statusCode, 200, completed.body);
  const signedIn = await s.signIn({ identifier: "reset@example.jp", password });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
});
