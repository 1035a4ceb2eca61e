import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type Database, openDatabase } from "../../src/db/database.ts";
import {
  mainButton as button,
  checkPage,
  launchBrowser,
  newContext,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { type FakeProvider, federationEnv, startFakeProvider } from "../support/fake-oidc-provider.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";

// 「Yahoo! JAPAN IDでログイン」 and 「Appleでサインイン」 in Debian's chromium, in Japanese, against
// fake YConnect v2 and Apple providers on loopback. Apple's provider is reached as `localhost` while
// Mamori is 127.0.0.1: another site for the browser (ports alone would not make it one), so its
// form_post answer is a real cross-site POST, which only a SameSite=None flow cookie reaches.

let yahoo: FakeProvider;
let apple: FakeProvider;
let server: MamoriServer;
let browser: Browser;
let db: Database;

before(async () => {
  yahoo = await startFakeProvider("yahoo_japan");
  apple = await startFakeProvider("apple", "client-apple", { host: "localhost" });
  server = await startMamori(
    federationEnv([
      { kind: "yahoo_japan", fake: yahoo },
      { kind: "apple", fake: apple },
    ]),
  );
  db = openDatabase(server.databaseUrl);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await db?.destroy();
  await server?.stop();
  await yahoo?.close();
  await apple?.close();
});

/** The account of `email` as the database holds it, with its linked providers and sign-in events. */
async function accountOf(email: string): Promise<{
  name: string;
  passwordHash: string | null;
  providers: string[];
  events: { type: string; detail: string }[];
  sessions: number;
}> {
  const account = await db
    .selectFrom("account")
    .select(["id", "name", "password_hash"])
    .where("email", "=", email)
    .executeTakeFirstOrThrow();
  const identities = await db
    .selectFrom("federated_identity")
    .select("provider")
    .where("account_id", "=", account.id)
    .execute();
  const events = await db
    .selectFrom("audit_event")
    .select(["type", "detail"])
    .where("account_id", "=", account.id)
    .execute();
  const sessions = await db.selectFrom("session").select("id").where("account_id", "=", account.id).execute();
  return {
    name: account.name,
    passwordHash: account.password_hash,
    providers: identities.map((i) => i.provider),
    events,
    sessions: sessions.length,
  };
}

/** The sign-in activity page's text (the browser must be signed in). */
async function activityText(page: Page): Promise<string> {
  await page.goto(`${server.url}/account/security/activity`);
  return visibleText(page.locator("main"));
}

test("Yahoo! JAPAN ID: the first sign-in with a verified email from UserInfo makes the account and signs in, and the activity names the provider from that first sign-in", async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);
  // YConnect v2 gives the email and email_verified at the UserInfo endpoint, never in the ID token.
  yahoo.person = {
    sub: "yj-browser-1",
    name: "鈴木 一郎",
    email: "ichiro.yj@example.jp",
    emailVerified: true,
  };
  await page.goto(`${server.url}/sign-in`);
  await checkPage(page, "ja", "ログイン");
  await button(page, "Yahoo! JAPAN IDでログイン").click();
  await page.waitForURL((url) => url.pathname === "/account");
  await saveScreenshot(page, "social-sign-in-yahoo-ja");

  const account = await accountOf("ichiro.yj@example.jp");
  assert.equal(account.name, "鈴木 一郎");
  assert.deepEqual(account.providers, ["yahoo_japan"]);
  assert.equal(account.passwordHash, null, "a social sign-up sets no password");
  assert.ok(
    account.events.some(
      (e) => e.type === "federation.signed_in" && JSON.parse(e.detail).provider === "yahoo_japan",
    ),
    `the first sign-in is recorded with its provider: ${JSON.stringify(account.events)}`,
  );
  assert.match(await activityText(page), /Yahoo! JAPAN IDで本人確認/);
  assert.deepEqual(problems.list(), []);
  await context.close();
});

test("Sign in with Apple: the form_post answer, a cross-site POST from Apple's site, signs in and keeps the name; replayed, it signs no one in", async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);
  apple.person = {
    sub: "001234.browser",
    name: "佐藤 美咲",
    email: "misaki123@privaterelay.appleid.com",
    emailVerified: true,
  };
  let posted: Promise<{ url: string; body: string; origin: string; site: string }> | undefined;
  page.on("request", (request) => {
    if (
      request.method() === "POST" &&
      new URL(request.url()).pathname === "/sign-in/federation/apple/callback"
    ) {
      // allHeaders: the headers Chromium really sent, Sec-Fetch-Site among them.
      posted = request.allHeaders().then((headers) => ({
        url: request.url(),
        body: request.postData() ?? "",
        origin: headers.origin ?? "",
        site: headers["sec-fetch-site"] ?? "",
      }));
    }
  });
  await page.goto(`${server.url}/sign-in`);
  await button(page, "Appleでサインイン").click();
  await page.waitForURL((url) => url.pathname === "/account");
  await saveScreenshot(page, "social-sign-in-apple-ja");

  // The answer came as Apple's does: a POST from the provider's own site, not Mamori's.
  assert.ok(posted, "the provider's page posted its answer");
  const answer = await posted;
  assert.equal(answer.origin, new URL(apple.issuer).origin);
  assert.equal(answer.site, "cross-site");
  assert.match(answer.body, /(^|&)user=/, "Apple posts the name on the first authorization");
  const account = await accountOf("misaki123@privaterelay.appleid.com");
  assert.equal(account.name, "佐藤 美咲", "the name Apple posts only the first time is kept");
  assert.deepEqual(account.providers, ["apple"]);
  assert.equal(account.passwordHash, null, "a social sign-up sets no password");
  assert.ok(
    account.events.some(
      (e) => e.type === "federation.signed_in" && JSON.parse(e.detail).provider === "apple",
    ),
    `the first sign-in is recorded with its provider: ${JSON.stringify(account.events)}`,
  );
  assert.match(await activityText(page), /Appleで本人確認/);
  assert.deepEqual(problems.list(), []);

  // Replay: the same answer posted again, by a page on another site, into this browser and into a
  // fresh one without the flow cookie. Attack: an answer read from a log or a shared computer,
  // posted again to sign in as its owner (or into a victim's browser, as login CSRF).
  const exchanged = apple.exchanged;
  const sessions = account.sessions;
  const replayPage = `${new URL(apple.issuer).origin}/replay`;
  const fields = [...new URLSearchParams(answer.body)]
    .map(
      ([n, v]) =>
        `<input type="hidden" name="${n}" value="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}">`,
    )
    .join("");
  const replayHtml = `<!doctype html><html lang="ja"><title>replay</title><form method="post" action="${answer.url}">${fields}<button>送信</button></form></html>`;
  for (const fresh of [false, true]) {
    const replayContext = fresh ? await newContext(browser) : context;
    const replay = await replayContext.newPage();
    await replay.route(replayPage, (route) =>
      route.fulfill({ contentType: "text/html; charset=utf-8", body: replayHtml }),
    );
    await replay.goto(replayPage);
    const [refused] = await Promise.all([
      replay.waitForResponse((r) => r.url() === answer.url && r.request().method() === "POST"),
      replay.getByRole("button", { name: "送信" }).click(),
    ]);
    assert.equal(refused.status(), 403, `replayed answer (fresh browser: ${fresh})`);
    await checkPage(replay, "ja", "ログインできませんでした");
    if (fresh) {
      await replay.goto(`${server.url}/account`);
      assert.notEqual(new URL(replay.url()).pathname, "/account", "the fresh browser is not signed in");
      await replayContext.close();
    } else {
      await replay.close();
    }
  }
  assert.equal(apple.exchanged, exchanged, "a replayed answer's code is never exchanged again");
  assert.equal((await accountOf("misaki123@privaterelay.appleid.com")).sessions, sessions, "no new session");
  await context.close();
});
