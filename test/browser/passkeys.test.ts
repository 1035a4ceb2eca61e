import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { openDatabase } from "../../src/db/database.ts";
import {
  checkPage,
  launchBrowser,
  mainButton,
  newContext,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer, type ServerAccount } from "../support/server-accounts.ts";
import { authenticatorApp } from "../support/two-step-browser.ts";

// Passkeys in Debian's chromium with the DevTools virtual authenticator (CTAP2, a platform
// authenticator with user verification, as a phone's or a laptop's is): add a passkey, sign out,
// sign in with it (no password, no code), use it as the second factor, remove it.
// Browsers refuse WebAuthn on an address, so the pages are opened as http://localhost:PORT (the
// server's passkey origin for a loopback test server, src/config/passkey-config.ts).

let server: MamoriServer;
let browser: Browser;
let base: string;

before(async () => {
  server = await startMamori();
  browser = await launchBrowser();
  base = server.url.replace("127.0.0.1", "localhost");
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

type VirtualAuthenticator = { cdp: CDPSession; id: string };

async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, id: authenticatorId };
}

async function credentialCount(authenticator: VirtualAuthenticator): Promise<number> {
  const { credentials } = await authenticator.cdp.send("WebAuthn.getCredentials", {
    authenticatorId: authenticator.id,
  });
  return credentials.length;
}

/** Whether the authenticator answers at once (a touch, simulated) or waits. */
async function presence(authenticator: VirtualAuthenticator, enabled: boolean): Promise<void> {
  await authenticator.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {
    authenticatorId: authenticator.id,
    enabled,
  });
}

/** The factors of the account's newest session, from the server's database. */
async function newestSession(email: string): Promise<{ factors: string[]; aal: number }> {
  const db = openDatabase(server.databaseUrl);
  try {
    const row = await db
      .selectFrom("session")
      .innerJoin("account", "account.id", "session.account_id")
      .select(["session.factors", "session.aal"])
      .where("account.email", "=", email)
      .orderBy("session.created_at", "desc")
      .executeTakeFirstOrThrow();
    return { factors: JSON.parse(row.factors) as string[], aal: row.aal };
  } finally {
    await db.destroy();
  }
}

async function signInWithPassword(page: Page, account: ServerAccount): Promise<void> {
  await page.goto(`${base}/sign-in`);
  await page.locator("#identifier").fill(account.email);
  await page.locator("#password").fill(account.password);
  await mainButton(page, "ログイン").click();
}

async function signOut(page: Page): Promise<void> {
  await page.locator("header").getByRole("button", { name: "ログアウト", exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/sign-in");
}

/** Turns two-step on with an authenticator app through the JSON API, as this browser's session. */
async function turnOnTwoStep(context: BrowserContext): Promise<void> {
  // What the browser itself would say of a request from the page (the public URL is 127.0.0.1).
  const headers = { "sec-fetch-site": "same-origin" };
  const started = await context.request.post(`${base}/api/v1/security/two-step/methods`, {
    headers,
    data: { role: "primary", method: "totp" },
  });
  assert.equal(started.status(), 201, await started.text());
  const { enrollment } = (await started.json()) as { enrollment: { id: string; secret: string } };
  const app = authenticatorApp(enrollment.secret.replace(/\s/g, ""));
  const verified = await context.request.post(
    `${base}/api/v1/security/two-step/methods/${enrollment.id}/verify`,
    {
      headers,
      data: { code: await app.code() },
    },
  );
  assert.equal(verified.status(), 200, await verified.text());
  const enabled = await context.request.post(`${base}/api/v1/security/two-step/enable`, { headers });
  assert.equal(enabled.status(), 200, await enabled.text());
}

test("add a passkey, sign out, sign in with it alone, use it as the second factor, remove it", async () => {
  const account: ServerAccount = {
    name: "鈴木 一郎",
    email: `passkey-${randomUUID().slice(0, 8)}@example.jp`,
    password: "hoshizora no shita de 7 tsubame ga tobu",
    locale: "ja",
  };
  await registerOnServer(server, account);
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);
  const authenticator = await addVirtualAuthenticator(page);

  // Login & security -> Passkeys -> Add a passkey.
  await signInWithPassword(page, account);
  await page.waitForURL(`${base}/account`);
  await page.goto(`${base}/account/security`);
  await page.locator("dl.settings").getByRole("link", { name: "パスキーを管理" }).click();
  await page.waitForURL(`${base}/account/security/passkeys`);
  await checkPage(page, "ja", "パスキー");
  assert.equal(await page.locator("[data-passkey-nojs]").isVisible(), false, "the no-JavaScript note hides");
  await page.getByRole("link", { name: "パスキーを追加" }).click();
  await checkPage(page, "ja", "パスキーを追加");
  await page.locator("#passkey-name").fill("テスト用のChromium");
  await saveScreenshot(page, "passkeys-add-ja");
  await mainButton(page, "パスキーを作成").click();
  await page.waitForURL(`${base}/account/security/passkeys?done=added`);
  assert.equal(await visibleText(page.getByRole("status")), "パスキーを追加しました。");
  assert.equal(await visibleText(page.locator("ul.passkeys strong")), "テスト用のChromium");
  assert.equal(await credentialCount(authenticator), 1);
  await saveScreenshot(page, "passkeys-list-ja");

  // Sign out, then sign in with the passkey offered in the identifier field's autofill (conditional
  // UI): the virtual authenticator picks it at once, as a person would from the list.
  await signOut(page);
  await page.waitForURL(`${base}/account`);
  assert.deepEqual(await newestSession(account.email), { factors: ["passkey_verified"], aal: 2 });

  // And with the button: no password, no code. The authenticator waits for a touch (presence off)
  // while the page loads, so autofill does not answer first; the button's request gets the touch.
  await presence(authenticator, false);
  await signOut(page);
  await saveScreenshot(page, "passkeys-sign-in-ja");
  await presence(authenticator, true);
  await mainButton(page, "パスキーでログイン").click();
  await page.waitForURL(`${base}/account`);
  assert.deepEqual(await newestSession(account.email), { factors: ["passkey_verified"], aal: 2 });

  // With two-step on, the password asks for the second step, and the passkey answers it.
  // (Presence off on the sign-in page again, so that autofill does not sign in first.)
  await turnOnTwoStep(context);
  await presence(authenticator, false);
  await signOut(page);
  await signInWithPassword(page, account);
  await page.waitForURL((url) => url.pathname.startsWith("/sign-in/two-step/"));
  await saveScreenshot(page, "passkeys-second-step-ja");
  await presence(authenticator, true);
  await mainButton(page, "パスキーを使う").click();
  await page.waitForURL(`${base}/account`);
  assert.deepEqual(await newestSession(account.email), { factors: ["password", "passkey"], aal: 2 });

  // Remove it (the sign-in just proved both factors, so no step-up is asked).
  await page.goto(`${base}/account/security/passkeys`);
  await mainButton(page, "テスト用のChromiumを削除").click();
  await page.waitForURL(`${base}/account/security/passkeys?done=removed`);
  assert.equal(await visibleText(page.getByRole("status")), "パスキーを削除しました。");
  assert.equal(await page.locator("ul.passkeys").count(), 0);

  // English, for the screenshot of the page in the other language.
  await page.goto(`${base}/locale/en?return_to=${encodeURIComponent("/account/security/passkeys")}`);
  await checkPage(page, "en", "Passkeys");
  await saveScreenshot(page, "passkeys-list-en");
  assert.deepEqual(problems.list(), []);
  await context.close();
});

/** Makes the account's sessions look signed in long ago: past the reauthentication window. */
async function ageSessions(email: string): Promise<void> {
  const db = openDatabase(server.databaseUrl);
  try {
    const account = await db
      .selectFrom("account")
      .select("id")
      .where("email", "=", email)
      .executeTakeFirstOrThrow();
    const longAgo = new Date(Date.now() - 3600_000).toISOString();
    await db
      .updateTable("session")
      .set({ authenticated_at: longAgo, second_factor_at: null })
      .where("account_id", "=", account.id)
      .execute();
  } finally {
    await db.destroy();
  }
}

test("signed in long ago: the reauthentication page's passkey leads back to the page that asked", async () => {
  const account: ServerAccount = {
    name: "高橋 花",
    email: `passkey-reauth-${randomUUID().slice(0, 8)}@example.jp`,
    password: "tsuki no hikari ni 9 hiki no neko ga odoru",
    locale: "ja",
  };
  await registerOnServer(server, account);
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);
  const authenticator = await addVirtualAuthenticator(page);
  await signInWithPassword(page, account);
  await page.waitForURL(`${base}/account`);
  await page.goto(`${base}/account/security/passkeys/add`);
  await mainButton(page, "パスキーを作成").click();
  await page.waitForURL(`${base}/account/security/passkeys?done=added`);
  assert.equal(await credentialCount(authenticator), 1);

  // An hour later, adding another passkey asks for the person again: the password page, which
  // offers the passkey instead (the no-JavaScript note hidden, the button shown).
  await ageSessions(account.email);
  await page.goto(`${base}/account/security/passkeys/add`);
  await page.waitForURL((url) => url.pathname === "/account/security/reauthenticate");
  await checkPage(page, "ja", "パスワードの再入力");
  assert.equal(await page.locator("[data-passkey-nojs]").isVisible(), false, "the no-JavaScript note hides");
  await saveScreenshot(page, "passkeys-reauthenticate-ja");
  await mainButton(page, "パスワードの代わりにパスキーを使う").click();
  await page.waitForURL(`${base}/account/security/passkeys/add`);
  await checkPage(page, "ja", "パスキーを追加");
  // A passkey with user verification: a recent sign-in and a step-up at once.
  assert.deepEqual(await newestSession(account.email), {
    factors: ["password", "passkey_verified"],
    aal: 2,
  });
  assert.deepEqual(problems.list(), []);
  await context.close();
});

test("the sign-in page greets no one with a passkey error: autofill that finds nothing (or no WebAuthn) stays silent", {
  timeout: 60_000,
}, async () => {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    const problems = watchPage(page);
    // On an address the browser refuses WebAuthn outright; on localhost without an authenticator
    // the offer just waits. Neither is anything the person did.
    for (const origin of [server.url, base]) {
      await page.goto(`${origin}/sign-in`);
      await page.waitForLoadState("networkidle");
      await page.waitForTimeout(1500);
      const region = page.locator("#passkey-status");
      assert.equal(await region.isHidden(), true, `no passkey error on ${origin}/sign-in`);
    }
    assert.deepEqual(problems.list(), []);
  } finally {
    await context.close();
  }
});
