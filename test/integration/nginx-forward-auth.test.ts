import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { freePort, type Nginx, startNginx } from "../support/nginx.ts";
import { requestSignal } from "../support/patience.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";
import { oathtoolCode } from "../support/two-step.ts";

// Forward authentication through Debian's nginx on loopback, with the configuration documented in
// docs/integration.md (examples/nginx/mamori-forward-auth.conf, only its addresses replaced):
// nginx asks Mamori's GET /api/v1/session/check before it lets a request through to the shop.

type Seen = { path: string; headers: IncomingHttpHeaders };

let mamori: MamoriServer;
let nginx: Nginx;
let shop: Server;
let site: string;
const seenByShop: Seen[] = [];

before(async () => {
  // The shop's back end: records what nginx passes on, answers 200.
  shop = createServer((request, response) => {
    seenByShop.push({ path: request.url ?? "", headers: request.headers });
    response.writeHead(200, { "content-type": "text/plain" }).end("shop page");
  });
  await new Promise<void>((resolve) => shop.listen(0, "127.0.0.1", resolve));
  const shopPort = (shop.address() as AddressInfo).port;
  const nginxPort = await freePort();
  site = `http://127.0.0.1:${nginxPort}`;
  // People reach Mamori through nginx, on the shop's host name.
  mamori = await startMamori({ MAMORI_PUBLIC_URL: site, MAMORI_TRUST_PROXY: "127.0.0.1" });
  const mamoriPort = new URL(mamori.url).port;
  const documented = readFileSync(
    new URL("../../examples/nginx/mamori-forward-auth.conf", import.meta.url),
    "utf8",
  );
  const config = replaceOnce(
    replaceOnce(
      replaceOnce(documented, "server 127.0.0.1:3000;", `server 127.0.0.1:${mamoriPort};`),
      "server 127.0.0.1:8080;",
      `server 127.0.0.1:${shopPort};`,
    ),
    "listen 127.0.0.1:8000;",
    `listen 127.0.0.1:${nginxPort};`,
  );
  nginx = await startNginx(config, nginxPort);
});

after(async () => {
  await nginx?.stop();
  await mamori?.stop();
  await new Promise((resolve) => shop?.close(resolve));
});

function replaceOnce(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `the documented config has "${from}" once`);
  return text.replace(from, to);
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${site}${path}`, { headers, redirect: "manual", signal: requestSignal() });
}

async function postJson(path: string, body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${site}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: requestSignal(),
  });
}

function sessionCookie(response: Response): string {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith("mamori_session="));
  assert.ok(cookie, "a session cookie is set");
  return cookie.split(";")[0] ?? "";
}

/** Registers through nginx (with `headers` on each request); returns the account id and its session cookie. */
async function register(
  email: string,
  name: string,
  headers: Record<string, string> = {},
): Promise<{ accountId: string; cookie: string }> {
  const password = "Kumo-no-Ue-de-4417-Neru";
  const started = await postJson("/api/v1/registrations", { name, email, password }, headers);
  assert.equal(started.status, 201, await started.clone().text());
  const { registration } = (await started.json()) as { registration: { id: string; flowToken: string } };
  const code = await latestCode(mamori, email);
  const verified = await postJson(
    `/api/v1/registrations/${registration.id}/verify`,
    { code },
    { ...headers, "x-mamori-flow-token": registration.flowToken },
  );
  assert.equal(verified.status, 201, await verified.clone().text());
  const body = (await verified.json()) as { account: { id: string } };
  return { accountId: body.account.id, cookie: sessionCookie(verified) };
}

function lastSeen(path: string): Seen {
  const seen = [...seenByShop].reverse().find((s) => s.path === path);
  assert.ok(seen, `the shop was asked for ${path}`);
  return seen;
}

test("nginx auth_request sends a visitor without a session to Mamori's sign-in, and never to the shop", async () => {
  const before = seenByShop.length;
  // A forged identity header without a session does not get in.
  const response = await get("/members/orders", { "x-mamori-account-id": "acc_forged" });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get("location"), `${site}/sign-in?return_to=/members/orders`);
  assert.equal(seenByShop.length, before, "the shop saw nothing");
  // The sign-in page it points to is Mamori's, served through nginx.
  const page = await get("/sign-in?return_to=/members/orders");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /name="return_to" value="\/members\/orders"/);
});

test("nginx auth_request lets a signed-in customer through with Mamori's identity headers, not forged ones", async () => {
  const { accountId, cookie } = await register("nginx-hanako@example.jp", "山田 花子");
  const response = await get("/members/orders", { cookie, "x-mamori-account-id": "acc_forged" });
  assert.equal(response.status, 200, await response.clone().text());
  assert.equal(await response.text(), "shop page");
  const seen = lastSeen("/members/orders");
  assert.equal(seen.headers["x-mamori-account-id"], accountId);
  assert.equal(seen.headers["x-mamori-email"], "nginx-hanako@example.jp");
  assert.equal(decodeURIComponent(String(seen.headers["x-mamori-name"])), "山田 花子");
  assert.equal(seen.headers["x-mamori-aal"], "1");
  assert.equal(seen.headers["x-mamori-amr"], "pwd,email");

  // Open pages of the shop never carry an identity header from outside.
  const open = await get("/", { "x-mamori-account-id": "acc_forged", "x-mamori-email": "evil@example.jp" });
  assert.equal(open.status, 200);
  assert.equal(lastSeen("/").headers["x-mamori-account-id"], undefined);
  assert.equal(lastSeen("/").headers["x-mamori-email"], undefined);

  // Signing out closes the door at once.
  const signedOut = await fetch(`${site}/api/v1/session`, {
    method: "DELETE",
    headers: { cookie, origin: site },
    signal: requestSignal(),
  });
  assert.equal(signedOut.status, 204);
  const after = await get("/members/orders", { cookie });
  assert.equal(after.status, 302);
});

test("nginx auth_request with aal=2 keeps a password-only session out of the back office, and lets a two-step one in", async () => {
  const email = "nginx-staff@example.jp";
  const { accountId, cookie } = await register(email, "Staff Member");
  const refused = await get("/back-office/orders", { cookie });
  assert.equal(refused.status, 403, "a password-only session is refused");

  // Turn two-step on with an authenticator app (codes from oathtool), then sign in with it.
  // Mamori renews the cookie after each privilege change; keep the newest, as a browser does.
  const headers = { cookie, origin: site };
  const keepCookie = (response: Response): void => {
    if (response.headers.getSetCookie().some((c) => c.startsWith("mamori_session="))) {
      headers.cookie = sessionCookie(response);
    }
  };
  const enroll = await postJson(
    "/api/v1/security/two-step/methods",
    { role: "primary", method: "totp" },
    headers,
  );
  assert.equal(enroll.status, 201, await enroll.clone().text());
  keepCookie(enroll);
  const { enrollment } = (await enroll.json()) as { enrollment: { id: string; secret: string } };
  const verify = await postJson(
    `/api/v1/security/two-step/methods/${enrollment.id}/verify`,
    { code: oathtoolCode(enrollment.secret, new Date()) },
    headers,
  );
  assert.equal(verify.status, 200, await verify.clone().text());
  keepCookie(verify);
  const enabled = await postJson("/api/v1/security/two-step/enable", {}, headers);
  assert.equal(enabled.status, 200, await enabled.clone().text());
  const { recoveryCodes } = (await enabled.json()) as { recoveryCodes: string[] };

  const signIn = await postJson("/api/v1/sign-in", {
    identifier: email,
    password: "Kumo-no-Ue-de-4417-Neru",
  });
  const { challenge } = (await signIn.json()) as { challenge: { id: string; flowToken: string } };
  // The app's code of this 30-second step is spent; a recovery code is a second factor too.
  const passed = await postJson(
    `/api/v1/sign-in/challenges/${challenge.id}/verify`,
    { code: recoveryCodes[0], method: "recovery_code" },
    { "x-mamori-flow-token": challenge.flowToken },
  );
  assert.equal(passed.status, 200, await passed.clone().text());
  const strong = sessionCookie(passed);
  const admitted = await get("/back-office/orders", { cookie: strong });
  assert.equal(admitted.status, 200);
  const seen = lastSeen("/back-office/orders").headers;
  assert.equal(seen["x-mamori-account-id"], accountId);
  assert.equal(seen["x-mamori-aal"], "2");
  assert.match(String(seen["x-mamori-amr"]), /^pwd,otp/);
});

test("through the documented nginx, a visitor's own X-Forwarded-For is replaced: Mamori records the address nginx saw", async () => {
  // Attack: with nginx appending to X-Forwarded-For ($proxy_add_x_forwarded_for) and Mamori trusting
  // 127.0.0.1, a visitor sending "X-Forwarded-For: 203.0.113.9" was 203.0.113.9 to Mamori: a new
  // address for every per-address limit at will, and a false address in the audit log and the
  // activity list. nginx must replace the header with the address it sees (here 127.0.0.1).
  const forged = { "x-forwarded-for": "203.0.113.9" };
  const { cookie } = await register("nginx-forwarded@example.jp", "Forwarded Visitor", forged);
  const listed = await get("/api/v1/sessions", { cookie, ...forged });
  assert.equal(listed.status, 200, await listed.clone().text());
  const { sessions } = (await listed.json()) as { sessions: { current: boolean; ip: string | null }[] };
  const current = sessions.find((session) => session.current);
  assert.equal(current?.ip, "127.0.0.1", JSON.stringify(sessions));
  // Several forged hops are no better than one.
  const chained = await get("/api/v1/sessions", { cookie, "x-forwarded-for": "198.51.100.7, 203.0.113.9" });
  const again = (await chained.json()) as { sessions: { current: boolean; ip: string | null }[] };
  assert.equal(again.sessions.find((session) => session.current)?.ip, "127.0.0.1");
});

test("through the documented nginx, identity headers a visitor sends never reach the shop: only Mamori's", async () => {
  // Attack: a signed-in customer adds "X-Mamori-Amr: hwk" (a security key they never used),
  // "X-Mamori-Aal: 2" or another account's id; a location that does not set each header from
  // Mamori's answer passes the visitor's own on to the shop, which believes it.
  const { accountId, cookie } = await register("nginx-forger@example.jp", "Forging Customer");
  const forged = {
    "x-mamori-account-id": "acc_someone_else",
    "x-mamori-email": "boss@example.jp",
    "x-mamori-name": "Boss",
    "x-mamori-aal": "2",
    "x-mamori-amr": "hwk",
  };
  const members = await get("/members/profile", { cookie, ...forged });
  assert.equal(members.status, 200, await members.clone().text());
  const seen = lastSeen("/members/profile").headers;
  assert.deepEqual(
    {
      account: seen["x-mamori-account-id"],
      email: seen["x-mamori-email"],
      name: decodeURIComponent(String(seen["x-mamori-name"])),
      aal: seen["x-mamori-aal"],
      amr: seen["x-mamori-amr"],
    },
    {
      account: accountId,
      email: "nginx-forger@example.jp",
      name: "Forging Customer",
      aal: "1",
      amr: "pwd,email",
    },
  );
  // The open part of the shop gets none of them at all, signed in or not.
  for (const headers of [forged, { cookie, ...forged }]) {
    const open = await get("/catalogue", headers);
    assert.equal(open.status, 200);
    const openSeen = lastSeen("/catalogue").headers;
    for (const name of Object.keys(forged)) assert.equal(openSeen[name], undefined, name);
  }
});
