import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/app.ts";
import { call } from "../support/two-step.ts";

// Attack: SMS pumping. Fraudsters make a site text numbers they are paid for (premium or
// partner numbers), through any form that sends a code. Mamori texts only numbers being set up by
// a signed-in person, or numbers already verified; here a crowd of fresh accounts asks for codes
// to 500 numbers, and the sends must stop at the hourly budgets.

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
  // The next hour has a budget again.
  s.clock.advance(3600);
  const later = await call(s, "POST", "/api/v1/security/two-step/methods", crowd[0]?.cookie, {
    role: "primary",
    method: "sms",
    phone: "080-9999-0000",
  });
  assert.equal(later.statusCode, 403, "an hour later the session needs a fresh sign-in first");
});

test("one account or one address cannot spend the whole budget", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR: "5" } });
  const account = await s.registerAccount();
  const statuses: number[] = [];
  for (let n = 0; n < 20; n++) {
    const response = await call(s, "POST", "/api/v1/security/two-step/methods", account.cookie, {
      role: "primary",
      method: "sms",
      phone: `080-2000-${String(3000 + n)}`,
    });
    statuses.push(response.statusCode);
  }
  assert.equal(statuses.filter((status) => status === 201).length, 5);
  const texts = await s.db.selectFrom("outbox_message").select("id").where("channel", "=", "sms").execute();
  assert.equal(texts.length, 5);
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
