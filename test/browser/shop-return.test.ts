import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Browser } from "playwright-core";
import { buildShop } from "../../examples/shop/app.ts";
import {
  horizontalOverflow,
  launchBrowser,
  newContext,
  phone,
  saveScreenshot,
  watchPage,
} from "../support/browser.ts";
import { freePort } from "../support/nginx.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";

// Reached through a shop, in chromium: the example shop's sign-in button leads to Mamori's sign-in
// page, which names the shop (「やまだ商店のアカウントでログイン」) and leads back to it
// (「やまだ商店に戻る」, the client URI the operator registered); and the shop's own
// 「ただいまログインできません」 page when Mamori does not answer. Screenshots at 390x844 and desktop.

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

let server: MamoriServer;
let browser: Browser;
let shop: FastifyInstance;
let deadShop: FastifyInstance;
let shopUrl: string;
let deadShopUrl: string;

before(async () => {
  server = await startMamori();
  browser = await launchBrowser();
  const [shopPort, deadShopPort, closedPort] = [await freePort(), await freePort(), await freePort()];
  shopUrl = `http://127.0.0.1:${shopPort}`;
  deadShopUrl = `http://127.0.0.1:${deadShopPort}`;
  const out = execFileSync(
    join(projectRoot, "node_modules", ".bin", "node"),
    [
      "src/cli/main.ts",
      "clients",
      "create",
      "--name",
      "やまだ商店",
      "--redirect-uri",
      `${shopUrl}/callback`,
      "--client-uri",
      `${shopUrl}/`,
    ],
    {
      cwd: projectRoot,
      encoding: "utf8",
      timeout: 20_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        NODE_ENV: "test",
        DATABASE_URL: server.databaseUrl,
        MAMORI_PUBLIC_URL: server.url,
        LOG_LEVEL: "warn",
      },
    },
  );
  const clientId = /client_id: (\S+)/.exec(out)?.[1];
  const clientSecret = /client_secret: (\S+)/.exec(out)?.[1];
  assert.ok(clientId && clientSecret, out);
  const client = { clientId, clientSecret, allowHttp: true };
  shop = await buildShop({ issuer: new URL(`${server.url}/oidc`), ...client, baseUrl: new URL(shopUrl) });
  await shop.listen({ host: "127.0.0.1", port: shopPort });
  // The same shop pointed at a port where no Mamori listens.
  deadShop = await buildShop({
    issuer: new URL(`http://127.0.0.1:${closedPort}/oidc`),
    ...client,
    baseUrl: new URL(deadShopUrl),
  });
  await deadShop.listen({ host: "127.0.0.1", port: deadShopPort });
});

after(async () => {
  await browser?.close();
  await shop?.close();
  await deadShop?.close();
  await server?.stop();
});

test("the shop's sign-in page names the shop and 「やまだ商店に戻る」 leads back to it", async () => {
  for (const [size, viewport] of [
    ["phone", phone],
    ["desktop", { width: 1280, height: 900 }],
  ] as const) {
    const context = await newContext(browser, { viewport });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(`${shopUrl}/`);
    await page.locator("#sign-in").click();
    await page.getByRole("heading", { name: "やまだ商店のアカウントでログイン" }).waitFor();
    assert.ok(page.url().startsWith(`${server.url}/sign-in?return_to=`), page.url());
    const back = page.getByRole("link", { name: "やまだ商店に戻る" });
    const box = await back.boundingBox();
    assert.ok(box && box.height >= 44, `a tap target of 44 px at least: ${JSON.stringify(box)}`);
    assert.equal(await horizontalOverflow(page), 0, "no sideways scrolling");
    await saveScreenshot(page, `sign-in-from-shop-ja-${size}`);
    await back.click();
    await page.waitForURL(`${shopUrl}/`);
    await page.getByRole("heading", { name: "やまだ商店へようこそ" }).waitFor();
    // Mamori's pages had no console error, CSP violation or failed request (the example shop has no favicon).
    assert.deepEqual(
      problems.list().filter((problem) => problem.includes(server.url)),
      [],
    );
    await context.close();
  }
});

test("the example shop says 「ただいまログインできません」 when Mamori does not answer", async () => {
  const context = await newContext(browser, { viewport: phone });
  const page = await context.newPage();
  await page.goto(`${deadShopUrl}/`);
  await page.locator("#sign-in").click();
  await page.getByRole("heading", { name: "ただいまログインできません" }).waitFor();
  assert.equal(new URL(page.url()).origin, deadShopUrl, "still on the shop, not the browser's error page");
  await page.getByRole("link", { name: "もう一度試す" }).waitFor();
  await saveScreenshot(page, "shop-unavailable-ja-phone");
  await context.close();
});
