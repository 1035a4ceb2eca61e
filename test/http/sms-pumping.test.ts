import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp, sameOrigin, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { call } from "../support/two-step.ts";

// Attack: SMS pumping. Fraudsters make a site text numbers they are paid for (premium or
// partner numbers), through any form that sends a code. Mamori texts only numbers being set up by
// a signed-in person, or numbers already verified; here a crowd of fresh accounts asks for codes
// to 500 numbers, and the sends must stop at the hourly budgets (per number, account, address,
// foreign country and for the whole service), which renew on the hour.

test("an SMS-pumping run against 500 numbers stops at the global hourly budget", async (t) => {
  const s = await buildTestApp(t, {
    env: {
      MAMORI_PHONE_SENDS_GLOBAL_PER_HOUR: "100",
      MAMORI_PHONE_SENDS_PER_IP_PER_HOUR: "1000",
      MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR: "1000",
      MAMORI_REGISTRATIONS_PER_IP_PER_HOUR: "1000",
    },
  });
  const crowd = [];
  for (let i = 0; i < 10; i++) crowd.push(await s.registerAccount({ email: `pump${i}@example.jp` }));
  const statuses: number[] = [];
  for (let n = 0; n < 500; n++) {
    const account = crowd[n % crowd.length];
    const phone = `090-${String(1000 + Math.floor(n / 10)).padStart(4, "0")}-${String(1000 + n).slice(-4)}`;
    const response = await call(s, "POST", "/api/v1/security/two-step/methods", account?.cookie, {
      role: "primary",
      method: "sms",
      phone,
    });
    statuses.push(response.statusCode);
  }
  const texts = await s.db.selectFrom("outbox_message").select("id").where("channel", "=", "sms").execute();
  assert.equal(texts.length, 100, "exactly the budget was sent");
  assert.equal(statuses.filter((status) => status === 201).length, 100);
  assert.equal(statuses.filter((status) => status === 429).length, 400);
  // The next hour has a budget again (after a fresh sign-in: adding a phone needs a recent one).
  s.clock.advance(3600);
  const fresh = await s.signIn({ identifier: crowd[0]?.email, password: crowd[0]?.password });
  const later = await call(
    s,
    "POST",
    "/api/v1/security/two-step/methods",
    sessionCookieHeader(fresh, s.config),
    {
      role: "primary",
      method: "sms",
      phone: "080-9999-0000",
    },
  );
  assert.equal(later.statusCode, 201, later.body);
});

function addPhone(s: TestApp, cookie: string | undefined, phone: string, ip = "127.0.0.1") {
  return s.inject({
    method: "POST",
    url: "/api/v1/security/two-step/methods",
    remoteAddress: ip,
    headers: { ...sameOrigin(s.config), ...(cookie ? { cookie } : {}) },
    payload: { role: "primary", method: "sms", phone },
  });
}

test("one account cannot spend the whole budget", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR: "5" } });
  const account = await s.registerAccount();
  const statuses: number[] = [];
  for (let n = 0; n < 20; n++) {
    statuses.push((await addPhone(s, account.cookie, `080-2000-${String(3000 + n)}`)).statusCode);
  }
  assert.equal(statuses.filter((status) => status === 201).length, 5);
  const texts = await s.db.selectFrom("outbox_message").select("id").where("channel", "=", "sms").execute();
  assert.equal(texts.length, 5);
});

test("one address cannot spend the whole budget, whichever accounts it uses", async (t) => {
  // Attack: one machine registers many accounts and asks codes for each, so no per-account or
  // per-number cap is reached; the address's own hourly cap stops it.
  const s = await buildTestApp(t, {
    env: {
      MAMORI_PHONE_SENDS_PER_IP_PER_HOUR: "6",
      MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR: "1000",
      MAMORI_REGISTRATIONS_PER_IP_PER_HOUR: "1000",
    },
  });
  const crowd = [];
  for (let i = 0; i < 4; i++) crowd.push(await s.registerAccount({ email: `crowd${i}@example.jp` }));
  const statuses: number[] = [];
  for (let n = 0; n < 12; n++) {
    const account = crowd[n % crowd.length];
    const response = await addPhone(s, account?.cookie, `080-3000-${String(4000 + n)}`, "203.0.113.50");
    statuses.push(response.statusCode);
  }
  assert.deepEqual(statuses, [201, 201, 201, 201, 201, 201, 429, 429, 429, 429, 429, 429]);
  // Another address (IPv4 /32) is not held back by the first one's sends.
  const elsewhere = await addPhone(s, crowd[0]?.cookie, "080-3000-5000", "203.0.113.51");
  assert.equal(elsewhere.statusCode, 201, elsewhere.body);
  const texts = await s.db.selectFrom("outbox_message").select("id").where("channel", "=", "sms").execute();
  assert.equal(texts.length, 7);
});

test("SMS budgets renew every hour: not sooner, and not never", async (t) => {
  // Attack: a budget that renewed sooner than an hour (or a window measured from the latest send
  // instead of the first) lets a pumping run go on at several times the intended rate; one that
  // never renewed would lock the shop's customers out of texts for good.
  const s = await buildTestApp(t, { env: { MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR: "3" } });
  const account = await s.registerAccount();
  const first: number[] = [];
  for (let n = 0; n < 4; n++)
    first.push((await addPhone(s, account.cookie, `080-4000-${4000 + n}`)).statusCode);
  assert.deepEqual(first, [201, 201, 201, 429]);

  // 59 minutes 59 seconds later: still spent (a fresh sign-in, since adding a phone needs a recent one).
  s.clock.advance(3599);
  const signedIn = await s.signIn({ identifier: account.email, password: account.password });
  const cookie = sessionCookieHeader(signedIn, s.config);
  const early = await addPhone(s, cookie, "080-4000-5000");
  assert.equal(early.statusCode, 429, early.body);
  assert.equal(early.headers["retry-after"], "1");

  // On the hour: a new budget of exactly 3.
  s.clock.advance(1);
  const next: number[] = [];
  for (let n = 0; n < 4; n++) next.push((await addPhone(s, cookie, `080-4000-${6000 + n}`)).statusCode);
  assert.deepEqual(next, [201, 201, 201, 429]);
});

test("texts to a foreign country the shop allows have an hourly budget of their own", async (t) => {
  const s = await buildTestApp(t, {
    env: {
      MAMORI_PHONE_COUNTRIES: "US",
      MAMORI_PHONE_SENDS_PER_FOREIGN_COUNTRY_PER_HOUR: "3",
      MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR: "1000",
    },
  });
  const account = await s.registerAccount();
  const abroad: number[] = [];
  for (let n = 0; n < 6; n++) {
    const response = await call(s, "POST", "/api/v1/security/two-step/methods", account.cookie, {
      role: "primary",
      method: "sms",
      phone: `+1 415 555 ${String(2600 + n)}`,
    });
    abroad.push(response.statusCode);
  }
  assert.deepEqual(abroad, [201, 201, 201, 429, 429, 429]);
  // Japanese mobiles are not held back by the foreign budget.
  const home = await call(s, "POST", "/api/v1/security/two-step/methods", account.cookie, {
    role: "primary",
    method: "sms",
    phone: "090-4444-5555",
  });
  assert.equal(home.statusCode, 201);
});
