import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AxeResults } from "axe-core";
import type { BrowserContext, Page } from "playwright-core";
import { hotp, totpStep } from "../../src/factors/totp/totp.ts";
import { requestSignal } from "./patience.ts";
import { latestCode, type MamoriServer } from "./server.ts";
import { giveVerifiedPhone, registerOnServer, type ServerAccount } from "./server-accounts.ts";

// The page tour's tools (test/browser/page-tour.test.ts): axe-core in every page, the two sizes,
// forms found by their fields' names (other work rewrites the words, never the names), and an
// account with two-step made through the JSON API.

export const tourDesktop = { width: 1280, height: 900 } as const;
export const tourPhone = { width: 390, height: 844 } as const;
export const tourSizes = [
  ["desktop", tourDesktop],
  ["phone", tourPhone],
] as const;

// axe-core's own file, the one @axe-core/playwright wraps. It is given to each context once, as an
// init script (added through the DevTools protocol, so the pages' CSP does not apply): every page
// then has `axe` from its first line. AxeBuilder would instead inject the 500 KB script again and
// open a blank page for every analysis, which measured four times slower here.
const axePath = createRequire(createRequire(import.meta.url).resolve("@axe-core/playwright")).resolve(
  "axe-core/axe.min.js",
);
const axeSource = readFileSync(axePath, "utf8");

export async function installAxe(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: axeSource });
}

/** WCAG 2.1 A and AA, and Deque's best practices, as the issue asks. */
const axeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/** The serious and critical violations on the page as it is now: "rule [impact] target: summary". */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = (await page.evaluate(
    (tags) =>
      (window as unknown as { axe: { run(context: Document, options: object): Promise<unknown> } }).axe.run(
        document,
        { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] },
      ),
    axeTags,
  )) as AxeResults;
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) =>
      v.nodes.map(
        (node) =>
          `${v.id} [${v.impact}] ${node.target.join(" ")}: ${(node.failureSummary ?? v.help).replace(/\s+/g, " ")}`,
      ),
    );
}

/** Screenshots of the tour, when asked for: docs/screenshots/pages/<page>-<size>.png. */
const screenshotDirectory = fileURLToPath(new URL("../../docs/screenshots/pages/", import.meta.url));

export async function saveTourScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDirectory, { recursive: true });
  await page.screenshot({
    path: join(screenshotDirectory, `${name}.png`),
    fullPage: true,
    animations: "disabled",
  });
}

/** Fills the fields by name (each field's id is its name) and sends their form with its own button. */
export async function submitForm(
  page: Page,
  fields: Record<string, string>,
  formSelector = "main form",
): Promise<void> {
  for (const [name, value] of Object.entries(fields))
    await page.locator(`[name="${name}"]`).first().fill(value);
  const first = Object.keys(fields)[0];
  const form = first
    ? page.locator(formSelector, { has: page.locator(`[name="${first}"]`) }).first()
    : page.locator(formSelector).first();
  await form.locator('[type="submit"]').first().click();
  await page.waitForLoadState("load");
}

/** A cookie jar for the JSON API: the session is renewed (a new cookie) after some steps. */
type Jar = Map<string, string>;

async function postJson(
  server: MamoriServer,
  path: string,
  body: object,
  jar: Jar = new Map(),
): Promise<Response> {
  const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: server.url, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
    signal: requestSignal(),
  });
  for (const set of response.headers.getSetCookie()) {
    const pair = set.split(";")[0] ?? "";
    const at = pair.indexOf("=");
    if (at > 0) jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return response;
}

function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The current 30-second step's code of an authenticator app holding `key` (base32). */
export function appCodeNow(key: string, offsetSteps = 0): string {
  return hotp(base32Decode(key), totpStep(new Date()) + offsetSteps);
}

export type TwoStepShopper = ServerAccount & { phone: string; recoveryCodes: string[] };

/**
 * An account with two-step on, made through the JSON API: SMS to its verified mobile number as the
 * primary, the authenticator app as a backup, and its recovery codes.
 */
export async function twoStepShopper(
  server: MamoriServer,
  locale: "ja" | "en",
  phone: string,
): Promise<TwoStepShopper> {
  const account: ServerAccount = {
    name: locale === "ja" ? "佐藤 健" : "Ken Sato",
    email: `tour-two-step-${randomUUID().slice(0, 8)}@example.jp`,
    password: "hoshizora no shita de 7 tsubame ga tobu",
    locale,
  };
  await registerOnServer(server, account);
  await giveVerifiedPhone(server, account.email, phone);
  const cookie: Jar = new Map();
  const signedIn = await postJson(
    server,
    "/api/v1/sign-in",
    { identifier: account.email, password: account.password },
    cookie,
  );
  assert.equal(signedIn.status, 200, await signedIn.clone().text());
  const methods = "/api/v1/security/two-step/methods";
  const sms = await postJson(server, methods, { role: "primary", method: "sms", phone }, cookie);
  assert.equal(sms.status, 201, await sms.clone().text());
  const smsId = ((await sms.json()) as { enrollment: { id: string } }).enrollment.id;
  const smsVerified = await postJson(
    server,
    `${methods}/${smsId}/verify`,
    { code: await latestCode(server, phone) },
    cookie,
  );
  assert.equal(smsVerified.status, 200, await smsVerified.clone().text());
  const enabled = await postJson(server, "/api/v1/security/two-step/enable", {}, cookie);
  assert.equal(enabled.status, 200, await enabled.clone().text());
  const { recoveryCodes } = (await enabled.json()) as { recoveryCodes: string[] };
  const app = await postJson(server, methods, { role: "backup", method: "totp" }, cookie);
  assert.equal(app.status, 201, await app.clone().text());
  const enrollment = ((await app.json()) as { enrollment: { id: string; secret: string } }).enrollment;
  const appVerified = await postJson(
    server,
    `${methods}/${enrollment.id}/verify`,
    { code: appCodeNow(enrollment.secret) },
    cookie,
  );
  assert.equal(appVerified.status, 200, await appVerified.clone().text());
  return { ...account, phone, recoveryCodes };
}
