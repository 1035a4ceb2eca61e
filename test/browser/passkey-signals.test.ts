import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { Browser, CDPSession, Page } from "playwright-core";
import { launchBrowser, mainButton, newContext, visibleText, watchPage } from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer, type ServerAccount } from "../support/server-accounts.ts";

// WebAuthn Level 3 in Debian's chromium: the passkeys page tells the passkey provider which
// passkeys Mamori accepts and the account's current details (Signal API), a sign-in with a removed
// passkey signals it unknown, and the page after a password sign-in asks for a conditional create.
// The signal methods and the capabilities are wrapped by an init script that records every call
// (in sessionStorage, so calls made just before a navigation are kept) and, for the signals, does
// not pass them on: the virtual authenticator keeps the removed passkey, so it can be offered.

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

type Recorded = { name: string; options: Record<string, unknown> };

/** Records the Signal API calls and each credentials.create's mediation; says conditionalCreate is there. */
function recordWebAuthnCalls(): void {
  const key = "mamori-test-webauthn-calls";
  const record = (name: string, options: unknown): void => {
    const calls = JSON.parse(sessionStorage.getItem(key) ?? "[]") as unknown[];
    calls.push({ name, options: JSON.parse(JSON.stringify(options ?? {})) });
    sessionStorage.setItem(key, JSON.stringify(calls));
  };
  const api = window.PublicKeyCredential as unknown as Record<string, unknown> | undefined;
  if (!api) return;
  for (const name of [
    "signalUnknownCredential",
    "signalAllAcceptedCredentials",
    "signalCurrentUserDetails",
  ]) {
    api[name] = async (options: unknown) => record(name, options);
  }
  api.getClientCapabilities = async () => ({ conditionalCreate: true, conditionalGet: true });
  const create = navigator.credentials.create.bind(navigator.credentials);
  navigator.credentials.create = (options?: CredentialCreationOptions) => {
    record("create", { mediation: (options as { mediation?: string } | undefined)?.mediation ?? "optional" });
    return create(options);
  };
}

async function recordedCalls(page: Page): Promise<Recorded[]> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("mamori-test-webauthn-calls") ?? "[]"));
}

/** Waits (bounded by the context's timeout) until a call named `name` is recorded; returns its options. */
async function waitForCall(page: Page, name: string): Promise<Record<string, unknown>> {
  await page.waitForFunction(
    (wanted) =>
      (JSON.parse(sessionStorage.getItem("mamori-test-webauthn-calls") ?? "[]") as { name: string }[]).some(
        (call) => call.name === wanted,
      ),
    name,
  );
  const found = (await recordedCalls(page)).find((call) => call.name === name);
  assert.ok(found);
  return found.options;
}

async function clearCalls(page: Page): Promise<void> {
  await page.evaluate(() => sessionStorage.removeItem("mamori-test-webauthn-calls"));
}

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

async function credentialIds(authenticator: VirtualAuthenticator): Promise<string[]> {
  const { credentials } = await authenticator.cdp.send("WebAuthn.getCredentials", {
    authenticatorId: authenticator.id,
  });
  return credentials.map((c) => Buffer.from(c.credentialId, "base64").toString("base64url"));
}

async function presence(authenticator: VirtualAuthenticator, enabled: boolean): Promise<void> {
  await authenticator.cdp.send("WebAuthn.setAutomaticPresenceSimulation", {
    authenticatorId: authenticator.id,
    enabled,
  });
}

function newAccount(prefix: string): ServerAccount {
  return {
    name: "佐藤 花子",
    email: `${prefix}-${randomUUID().slice(0, 8)}@example.jp`,
    password: "hoshizora no shita de 7 tsubame ga tobu",
    locale: "ja",
  };
}

async function signInWithPassword(page: Page, account: ServerAccount): Promise<void> {
  await page.goto(`${base}/sign-in`);
  await page.locator("#identifier").fill(account.email);
  await page.locator("#password").fill(account.password);
  await mainButton(page, "ログイン").click();
  await page.waitForURL(`${base}/account`);
}

test("the passkeys page signals the accepted passkeys and current details; a removed passkey is signalled unknown at sign-in", async () => {
  const account = newAccount("signals");
  await registerOnServer(server, account);
  const context = await newContext(browser);
  await context.addInitScript(recordWebAuthnCalls);
  const page = await context.newPage();
  const problems = watchPage(page);
  const authenticator = await addVirtualAuthenticator(page);
  // No conditional create here (presence off on /account is not enough: the offer would still
  // start); the account gets its passkey on the add page, as a person does.
  await signInWithPassword(page, account);
  await page.goto(`${base}/account/security/passkeys/add`);
  await page.locator("#passkey-name").fill("Chromium");
  await clearCalls(page);
  await mainButton(page, "パスキーを作成").click();
  await page.waitForURL(`${base}/account/security/passkeys?done=added`);
  const ids = await credentialIds(authenticator);
  assert.ok(ids.length >= 1, "the virtual authenticator holds the passkey");
  const credentialId = ids.at(-1);

  // The passkeys page: every passkey Mamori accepts, by id, and the account's email and name.
  const accepted = await waitForCall(page, "signalAllAcceptedCredentials");
  assert.equal(accepted.rpId, "localhost");
  assert.ok(Array.isArray(accepted.allAcceptedCredentialIds));
  assert.ok((accepted.allAcceptedCredentialIds as string[]).includes(String(credentialId)));
  const details = await waitForCall(page, "signalCurrentUserDetails");
  assert.deepEqual(
    { name: details.name, displayName: details.displayName, userId: details.userId },
    { name: account.email, displayName: account.name, userId: accepted.userId },
  );

  // Removed: the list the provider hears no longer has it.
  await clearCalls(page);
  await page.locator("ul.passkeys").getByRole("button", { name: "Chromiumを削除" }).click();
  await page.waitForURL(`${base}/account/security/passkeys?done=removed`);
  const afterRemoval = await waitForCall(page, "signalAllAcceptedCredentials");
  assert.deepEqual(afterRemoval.allAcceptedCredentialIds, []);

  // The provider did not drop it (the wrapper kept it), so it is offered at sign-in: Mamori answers
  // that it knows no such passkey, and the page signals it unknown by its id.
  await presence(authenticator, false);
  await page.locator("header").getByRole("button", { name: "ログアウト", exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/sign-in");
  await clearCalls(page);
  await presence(authenticator, true);
  await mainButton(page, "パスキーでログイン").click();
  const unknown = await waitForCall(page, "signalUnknownCredential");
  assert.deepEqual(unknown, { rpId: "localhost", credentialId: credentialId });
  assert.match(await visibleText(page.locator("#passkey-status")), /削除されているため使えません/);
  const expected = problems.list().filter((p) => !/status of 404/.test(p));
  assert.deepEqual(expected, []);
  await context.close();
});

test("right after a password sign-in the page asks for a conditional create, under the CSP", async () => {
  const account = newAccount("conditional");
  await registerOnServer(server, account);
  const context = await newContext(browser);
  await context.addInitScript(recordWebAuthnCalls);
  const page = await context.newPage();
  const problems = watchPage(page);
  await addVirtualAuthenticator(page);
  await signInWithPassword(page, account);
  const created = await waitForCall(page, "create");
  assert.equal(created.mediation, "conditional");
  // Whatever the browser decided, nothing went wrong on the page (no CSP violation, no error).
  await page.waitForLoadState("networkidle");
  assert.deepEqual(problems.list(), []);
  await context.close();
});
