import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import * as client from "openid-client";
import type { Browser } from "playwright-core";
import { runCli } from "../../src/cli/main.ts";
import {
  checkPage,
  launchBrowser,
  mainButton,
  newContext,
  phone,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer, type ServerAccount } from "../support/server-accounts.ts";

// Device sign-in (RFC 8628) in Debian's chromium, in Japanese on a phone: a TV app (openid-client
// against the running server) shows a code; the person opens the page, logs in, enters the code
// as a phone keyboard gives it, checks which app asks, and allows, or refuses.

let server: MamoriServer;
let browser: Browser;
let clientId: string;

before(async () => {
  server = await startMamori();
  browser = await launchBrowser();
  // The operator registers the TV app with the CLI, on the server's database.
  const previous = process.env.DATABASE_URL;
  process.env.DATABASE_URL = server.databaseUrl;
  const out: string[] = [];
  try {
    const status = await runCli(["clients", "create", "--device", "--name", "テレビアプリ"], {
      out: (text) => out.push(text),
      err: (text) => out.push(text),
    });
    assert.equal(status, 0, out.join("\n"));
  } finally {
    if (previous === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previous;
  }
  const id = /client_id: (\S+)/.exec(out.join("\n"))?.[1];
  assert.ok(id, out.join("\n"));
  assert.doesNotMatch(out.join("\n"), /client_secret/, "a device client has no secret");
  clientId = id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function tvApp(): Promise<client.Configuration> {
  return client.discovery(new URL(`${server.url}/oidc`), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: 30,
  });
}

function newAccount(): ServerAccount {
  return {
    name: "高橋 真理",
    email: `device-${randomUUID().slice(0, 8)}@example.jp`,
    password: "hoshizora no shita de 7 tsubame ga tobu",
    locale: "ja",
  };
}

test("device sign-in in Japanese: log in on the phone, enter the TV's code, allow; the TV gets its tokens", async () => {
  const account = newAccount();
  await registerOnServer(server, account);
  const tv = await tvApp();
  const start = await client.initiateDeviceAuthorization(tv, { scope: "openid email profile" });

  const context = await newContext(browser, { viewport: phone, isMobile: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(start.verification_uri);
  await page.waitForURL((url) => url.pathname === "/sign-in");
  await page.locator("#identifier").fill(account.email);
  await page.locator("#password").fill(account.password);
  await mainButton(page, "ログイン").click();
  await page.waitForURL((url) => url.pathname === "/oidc/device");
  await checkPage(page, "ja", "コードを入力してください");

  // A wrong code first: the page says so, in plain words, beside the field.
  await page.locator("#user_code").fill("BBBB-BBBB");
  await mainButton(page, "次へ").click();
  await page.waitForLoadState();
  assert.match(await visibleText(page.locator("#user_code-error")), /コードが正しくありません/);
  await saveScreenshot(page, "device-code-wrong-ja");

  // As a Japanese phone keyboard may type it: full-width, lower case, no dash.
  const typed = [...start.user_code.replace("-", "").toLowerCase()]
    .map((char) => String.fromCharCode(char.charCodeAt(0) + 0xfee0))
    .join("");
  await page.locator("#user_code").fill(typed);
  await saveScreenshot(page, "device-code-ja");
  await mainButton(page, "次へ").click();
  await checkPage(page, "ja", "テレビアプリにログインしますか？");
  assert.equal(await visibleText(page.locator(".user-code")), start.user_code);
  await saveScreenshot(page, "device-confirm-ja");
  await mainButton(page, "許可する").click();
  await checkPage(page, "ja", "ログインしました");
  await saveScreenshot(page, "device-done-ja");

  const tokens = await client.pollDeviceAuthorizationGrant(tv, { ...start, interval: 0 }, undefined, {
    signal: AbortSignal.timeout(30_000),
  });
  assert.equal(tokens.claims()?.email, account.email);
  assert.deepEqual(problems.list(), []);
  await context.close();
});

test("device sign-in refused: 「許可しない」, and the TV hears access_denied", async () => {
  const account = newAccount();
  await registerOnServer(server, account);
  const tv = await tvApp();
  const start = await client.initiateDeviceAuthorization(tv, { scope: "openid" });
  const context = await newContext(browser, { viewport: phone, isMobile: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  // The QR code's address: the code is filled in already.
  await page.goto(start.verification_uri_complete ?? start.verification_uri);
  await page.locator("#identifier").fill(account.email);
  await page.locator("#password").fill(account.password);
  await mainButton(page, "ログイン").click();
  await page.waitForURL((url) => url.pathname === "/oidc/device");
  assert.equal(await page.locator("#user_code").inputValue(), start.user_code);
  await mainButton(page, "次へ").click();
  await page.getByRole("button", { name: "許可しない" }).click();
  await checkPage(page, "ja", "許可しませんでした");
  await saveScreenshot(page, "device-denied-ja");
  await assert.rejects(
    client.pollDeviceAuthorizationGrant(tv, { ...start, interval: 0 }, undefined, {
      signal: AbortSignal.timeout(30_000),
    }),
    (error: unknown) => error instanceof client.ResponseBodyError && error.error === "access_denied",
  );
  assert.deepEqual(problems.list(), []);
  await context.close();
});
