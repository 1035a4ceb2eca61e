import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Locator } from "playwright-core";
import { openDatabase } from "../../src/db/database.ts";
import type { MamoriServer } from "./server.ts";

/**
 * Two-step helpers for browser tests, as a phone would do it: the QR code on the screen read by
 * `zbarimg` (zbar), codes made by `oathtool` (oath-toolkit) from the key in it, on the real clock.
 */

/** Photographs the QR code element and decodes it with zbar: the otpauth:// URI in it. */
export async function scanQrCode(element: Locator): Promise<string> {
  const directory = mkdtempSync(join(tmpdir(), "mamori-qr-"));
  try {
    const file = join(directory, "qr.png");
    await element.screenshot({ path: file, animations: "disabled" });
    return execFileSync("zbarimg", ["--raw", "-q", file], { encoding: "utf8", timeout: 10_000 }).trim();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The base32 key of an otpauth:// URI, checking what an app would show with it. */
export function secretOf(uri: string, email: string): string {
  const url = new URL(uri);
  assert.equal(url.protocol, "otpauth:");
  assert.equal(url.host, "totp");
  // The app lists the entry under the shop's name (the test server's sample brand), in the account's language.
  const issuer = url.searchParams.get("issuer") ?? "";
  assert.ok(["サンプルショップ", "Sample Shop"].includes(issuer), `the shop's name as issuer, not ${issuer}`);
  assert.equal(decodeURIComponent(url.pathname), `/${issuer}:${email}`);
  const secret = url.searchParams.get("secret");
  assert.ok(secret && /^[A-Z2-7]{32}$/.test(secret), `a 160-bit base32 key in ${uri}`);
  return secret;
}

const stepMs = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * An authenticator app on the real clock. The server takes each 30-second step's code once, so a
 * second code in the same step waits for the next step: at most one step (31 s), never more.
 */
export function authenticatorApp(secret: string): { code(): Promise<string> } {
  let lastStep = -1;
  return {
    async code(): Promise<string> {
      const deadline = Date.now() + stepMs + 1_000;
      while (Math.floor(Date.now() / stepMs) <= lastStep) {
        if (Date.now() > deadline) throw new Error("the next TOTP step did not come within 31 s");
        await sleep(Math.min(500, (lastStep + 1) * stepMs - Date.now() + 50));
      }
      for (;;) {
        const step = Math.floor(Date.now() / stepMs);
        const code = execFileSync("oathtool", ["--totp", "--base32", secret], {
          encoding: "utf8",
          timeout: 5_000,
        }).trim();
        // The code belongs to the step it was made in; if the step turned meanwhile, make it again.
        if (Math.floor(Date.now() / stepMs) !== step) continue;
        assert.match(code, /^\d{6}$/);
        lastStep = step;
        return code;
      }
    },
  };
}

/**
 * Makes the account's sessions look signed in 11 minutes ago (password and second factor alike), as
 * if the shopper had left the page open: no page can do that, and the test cannot wait 10 minutes.
 */
export async function ageSessions(server: MamoriServer, email: string): Promise<void> {
  const db = openDatabase(server.databaseUrl);
  try {
    const account = await db
      .selectFrom("account")
      .select("id")
      .where("email", "=", email.toLowerCase())
      .executeTakeFirstOrThrow();
    const then = new Date(Date.now() - 11 * 60_000).toISOString();
    await db
      .updateTable("session")
      .set({ authenticated_at: then, second_factor_at: then })
      .where("account_id", "=", account.id)
      .execute();
  } finally {
    await db.destroy();
  }
}
