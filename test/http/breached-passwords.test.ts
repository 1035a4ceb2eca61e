import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { assertApiError, buildTestApp, sameOrigin } from "../support/app.ts";

// Breached passwords from the Have I Been Pwned range API (MAMORI_HIBP_URL), here a fake range API
// on loopback that knows one leaked password. Only the first five hex digits of the SHA-1 may
// leave Mamori (k-anonymity), and an outage of the API must not stop anyone.

const leaked = "Kumo-Sora-Umi-2049-Tanuki"; // strong by zxcvbn, not on the offline list
const paddedOnly = "Hoshi-Kaze-Mori-7731-Kitsune"; // the API lists its suffix with count 0 (padding)
const fine = "Hoshizora-Kaede-5529-Ringo";

function sha1(password: string): string {
  return createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
}

type FakeRangeApi = { url: string; requests: { path: string; padding: string | undefined }[] };

async function fakeRangeApi(t: TestContext, status = 200): Promise<FakeRangeApi> {
  const requests: FakeRangeApi["requests"] = [];
  const server: Server = createServer((request, response) => {
    const path = request.url ?? "";
    requests.push({ path, padding: request.headers["add-padding"] as string | undefined });
    const prefix = /^\/range\/([0-9A-F]{5})$/.exec(path)?.[1];
    if (status !== 200 || !prefix) {
      response.writeHead(status === 200 ? 404 : status).end();
      return;
    }
    const lines = ["0018A45C4D1DEF81644B54AB7F969B88D65:3", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0"];
    for (const password of [leaked, paddedOnly]) {
      const hash = sha1(password);
      if (hash.startsWith(prefix)) lines.push(`${hash.slice(5)}:${password === leaked ? 52 : 0}`);
    }
    response.writeHead(200, { "content-type": "text/plain" }).end(lines.join("\r\n"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function register(s: Awaited<ReturnType<typeof buildTestApp>>, password: string) {
  return s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: {
      name: "山田 花子",
      email: `hanako-${Math.random().toString(36).slice(2, 8)}@example.jp`,
      password,
      locale: "ja",
    },
  });
}

test("a password the range API knows from a breach is refused at sign-up (password_too_common)", async (t) => {
  const api = await fakeRangeApi(t);
  const s = await buildTestApp(t, { env: { MAMORI_HIBP_URL: api.url } });
  const refused = await register(s, leaked);
  const error = assertApiError(refused, 400, "password_too_common");
  assert.equal(error.field, "password");
  assert.equal((await register(s, fine)).statusCode, 201);
  assert.equal((await register(s, paddedOnly)).statusCode, 201, "a padding line (count 0) is not a breach");
});

test("only the first five hex digits of the password's SHA-1 leave the server, with padding asked for", async (t) => {
  const api = await fakeRangeApi(t);
  const s = await buildTestApp(t, { env: { MAMORI_HIBP_URL: `${api.url}/` } });
  await register(s, leaked);
  assert.deepEqual(api.requests, [{ path: `/range/${sha1(leaked).slice(0, 5)}`, padding: "true" }]);
});

test("the offline list is asked first: a common password never reaches the range API", async (t) => {
  const api = await fakeRangeApi(t);
  const s = await buildTestApp(t, { env: { MAMORI_HIBP_URL: api.url } });
  assertApiError(await register(s, "password1234"), 400, "password_too_common");
  assert.deepEqual(api.requests, []);
});

test("when the range API is down, sign-up goes on with the offline list alone", async (t) => {
  const api = await fakeRangeApi(t, 503);
  const s = await buildTestApp(t, { env: { MAMORI_HIBP_URL: api.url } });
  assert.equal((await register(s, leaked)).statusCode, 201);
  assert.equal(api.requests.length, 1);
  assertApiError(await register(s, "password1234"), 400, "password_too_common");
});

test("a breached new password is refused when changing it, and the strength check says breached", async (t) => {
  const api = await fakeRangeApi(t);
  const s = await buildTestApp(t, { env: { MAMORI_HIBP_URL: api.url } });
  const owner = await s.registerAccount({ locale: "en" });
  const changed = await s.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: owner.cookie, ...sameOrigin(s.config) },
    payload: { currentPassword: owner.password, newPassword: leaked },
  });
  assertApiError(changed, 400, "password_too_common");
  const strength = await s.inject({
    method: "POST",
    url: "/api/v1/passwords/strength",
    payload: { password: leaked },
    headers: { "accept-language": "en" },
  });
  assert.equal(strength.statusCode, 200, strength.body);
  const body = strength.json<{ breached: boolean; policy: { ok: boolean; code?: string } }>();
  assert.equal(body.breached, true);
  assert.deepEqual([body.policy.ok, body.policy.code], [false, "password_too_common"]);
  const other = await s.inject({
    method: "POST",
    url: "/api/v1/passwords/strength",
    payload: { password: fine },
  });
  assert.equal(other.json<{ breached: boolean }>().breached, false);
});

test("MAMORI_HIBP_URL is checked at start: a URL, https in production", () => {
  assert.throws(() => loadConfig({ MAMORI_HIBP_URL: "not a url" }), ConfigError);
  assert.throws(() => loadConfig({ MAMORI_HIBP_URL: "ftp://example.com" }), ConfigError);
  assert.throws(
    () => loadConfig({ MAMORI_HIBP_URL: "https://api.pwnedpasswords.com", MAMORI_HIBP_TIMEOUT_MS: "5" }),
    ConfigError,
  );
  const production = {
    NODE_ENV: "production",
    MAMORI_BRAND_NAME: "やまだ商店",
    MAMORI_SECRET_KEYS: "a".repeat(64),
    SMTP_URL: "smtp://mail.example.jp",
    MAMORI_PUBLIC_URL: "https://id.example.jp",
    MAMORI_TRUST_PROXY: "true",
  };
  assert.throws(
    () => loadConfig({ ...production, MAMORI_HIBP_URL: "http://hibp.internal" }),
    /MAMORI_HIBP_URL must be https/,
  );
  assert.equal(
    loadConfig({ MAMORI_HIBP_URL: "https://api.pwnedpasswords.com" }).hibp?.url.href,
    "https://api.pwnedpasswords.com/",
  );
  assert.equal(loadConfig({}).hibp, null);
});
