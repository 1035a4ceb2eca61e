import assert from "node:assert/strict";
import { test } from "node:test";
import type { InjectOptions } from "fastify";
import { buildTestApp, registeredRoutes, sameOrigin } from "../support/app.ts";

// Issue 18: a shop puts these pages in front of its customers under its own name. Every page a
// customer can reach, signed in or out, in Japanese and English, is rendered for a shop named
// テスト商店 and must name that shop (the title, the header) and never the software behind it.

const brandEnv = {
  MAMORI_BRAND_NAME: "テスト商店",
  MAMORI_BRAND_NAME_EN: "Test Shop",
  MAMORI_BRAND_COLOUR: "#1d4ed8",
};
const software = /Mamori|マモリ|守り/;

/** Routes that are not pages a customer sees: the JSON API, files, the provider's protocol, staff. */
function isCustomerPage(path: string): boolean {
  return !/^\/(api\/|assets\/|oidc\/(?!device)|admin|metrics|health|\.well-known|brand\.css|dev\/|openapi|documentation)/.test(
    path,
  );
}

/** The text a customer sees: the page without its asset URLs (/assets/mamori.css is a file name). */
function visible(body: string): string {
  return body.replace(/<(link|script)\b[^>]*>/g, "");
}

test("every page names the shop in its title and header and never names Mamori, signed in or out, in both languages", async (t) => {
  const s = await buildTestApp(t, { env: brandEnv });
  const account = await s.registerAccount();
  const routes = registeredRoutes(s.app).filter((r) => isCustomerPage(r.path));
  const pages = routes.filter((r) => r.method === "GET");
  assert.ok(pages.length >= 40, `only ${pages.length} pages found`);
  let htmlPages = 0;
  for (const route of routes) {
    if (route.method !== "GET" && route.method !== "POST") continue;
    const url = route.path.replace(/:\w+|\*/g, "x0");
    for (const locale of ["ja", "en"] as const) {
      for (const signedIn of [false, true]) {
        const headers: Record<string, string> = { "accept-language": locale, ...sameOrigin(s.config) };
        if (signedIn) headers.cookie = account.cookie;
        const request: InjectOptions = { method: route.method as "GET" | "POST", url, headers };
        // A form posted without its token answers with a page too ("the form expired"): no change is made.
        if (route.method === "POST") request.payload = {};
        const response = await s.inject(request);
        const where = `${route.method} ${url} (${locale}, ${signedIn ? "signed in" : "signed out"})`;
        assert.ok(response.statusCode < 500, `${where}: ${response.statusCode}`);
        if (!String(response.headers["content-type"]).startsWith("text/html")) continue;
        htmlPages++;
        assert.doesNotMatch(visible(response.body), software, where);
        // The data download's HTML file is a document of its own, not a page of the site.
        if (url.endsWith("/export.html")) continue;
        // A signed-in page speaks the account's language, whatever the browser asks for.
        const name = /<html lang="en">/.test(response.body) ? "Test Shop" : "テスト商店";
        assert.match(response.body, new RegExp(`<title>[^<]*\\| ${name}</title>`), `${where}: title`);
        assert.match(response.body, new RegExp(`<a class="brand" href="/">${name}</a>`), `${where}: header`);
      }
    }
  }
  assert.ok(htmlPages >= 150, `only ${htmlPages} pages were HTML`);
});

test("the shop's colour and logo reach every page through this site's own stylesheet and policy", async (t) => {
  const s = await buildTestApp(t, {
    env: { ...brandEnv, MAMORI_BRAND_LOGO_URL: "https://cdn.example.jp/logo.svg" },
  });
  const css = await s.inject({ method: "GET", url: "/brand.css" });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers["content-type"]), /^text\/css/);
  assert.match(css.body, /--accent: #1d4ed8;/);
  const page = await s.inject({ method: "GET", url: "/sign-in", headers: { "accept-language": "ja" } });
  assert.match(page.body, /<link rel="stylesheet" href="\/brand\.css">/);
  assert.match(page.body, /<img src="https:\/\/cdn\.example\.jp\/logo\.svg" alt="テスト商店" height="32">/);
  // The logo's origin, and no other, may serve images.
  assert.match(
    String(page.headers["content-security-policy"]),
    /img-src 'self' data: https:\/\/cdn\.example\.jp(;|$)/,
  );
});

test("a mail sent from a page names the shop in its subject and sender, never Mamori", async (t) => {
  const s = await buildTestApp(t, { env: brandEnv });
  const account = await s.registerAccount({ locale: "ja" });
  const messages = await s.messagesTo(account.email);
  assert.ok(messages.length >= 2, "the code and the welcome mail");
  for (const message of messages) {
    assert.match(message.subject ?? "", /^【テスト商店】/);
    assert.doesNotMatch(`${message.subject} ${message.text_body}`, software);
  }
  assert.equal(s.config.mailFrom, '"テスト商店" <no-reply@localhost>');
});
