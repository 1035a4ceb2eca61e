import assert from "node:assert/strict";
import { test } from "node:test";
import { newId } from "../../src/crypto/secrets.ts";
import { secureRandom } from "../../src/deps.ts";
import { insertAccount } from "../../src/identity/accounts.ts";
import { hashPassword } from "../../src/passwords/hashing.ts";
import { trustDevice } from "../../src/session/trusted-devices.ts";
import { buildTestApp } from "../support/app.ts";

// A credential-stuffing run, bounded: 1,000 guesses at 100 accounts from 5 addresses, on loopback
// through inject(). Every attacking address must end up refused — even when it finally tries the
// real password — no guess may sign in, and the owners must still get in from their trusted
// browsers.

const accounts = 100;
const attackers = ["203.0.113.10", "203.0.113.11", "198.51.100.7", "2001:db8:bad::1", "192.0.2.99"];
const guesses = [
  "123456",
  "password",
  "qwerty123",
  "iloveyou",
  "Password1!",
  "letmein2024",
  "dragon",
  "monkey12",
  "11111111",
  "abc12345",
];

test("a credential-stuffing run is throttled per address, takes no account, and leaves trusted owners in", async (t) => {
  const s = await buildTestApp(t);
  const ownerPassword = "Kanata-Hoshi-5521-Umi";
  const hash = await hashPassword(ownerPassword, {
    memoryKib: s.config.limits.argon2MemoryKib,
    iterations: s.config.limits.argon2Iterations,
  });
  const owners: { email: string; trustedCookie: string }[] = [];
  for (let i = 0; i < accounts; i++) {
    const id = newId(secureRandom, "acc");
    const email = `member${i}@example.jp`;
    await insertAccount(s.db, {
      id,
      email,
      name: `会員 ${i}`,
      passwordHash: hash,
      locale: "ja",
      now: s.clock.now(),
    });
    const device = await trustDevice(
      s.db,
      { clock: s.clock, random: secureRandom, lifetimeSeconds: s.config.limits.trustedDeviceSeconds },
      id,
      { ip: "192.168.1.20", userAgent: "owner's browser" },
    );
    owners.push({ email, trustedCookie: `mamori_trusted=${device.token}` });
  }

  const statusesByAttacker = new Map<string, number[]>();
  let attempt = 0;
  for (const guess of guesses) {
    for (let i = 0; i < accounts; i++, attempt++) {
      const attacker = attackers[attempt % attackers.length] as string;
      const response = await s.inject({
        method: "POST",
        url: "/api/v1/sign-in",
        remoteAddress: attacker,
        payload: { identifier: owners[i]?.email, password: guess },
      });
      assert.notEqual(response.statusCode, 200, "no guess signs in");
      const list = statusesByAttacker.get(attacker) ?? [];
      list.push(response.statusCode);
      statusesByAttacker.set(attacker, list);
    }
  }
  assert.equal(attempt, 1000);
  // The list finally holds the real password (a reused one, leaked elsewhere): every attacking
  // address has spent its budget, so it is refused before the password is even checked.
  for (const [index, attacker] of attackers.entries()) {
    for (const owner of owners.slice(index * 4, index * 4 + 4)) {
      const response = await s.inject({
        method: "POST",
        url: "/api/v1/sign-in",
        remoteAddress: attacker,
        payload: { identifier: owner.email, password: ownerPassword },
      });
      assert.equal(response.statusCode, 429, `${attacker} is refused even with the right password`);
      assert.equal(response.headers["set-cookie"], undefined);
    }
  }
  for (const [attacker, statuses] of statusesByAttacker) {
    assert.equal(statuses.length, 200);
    assert.equal(statuses.at(-1), 429, `${attacker} is refused by the end`);
    // The per-address limit (100 failures per window) cuts each address off long before its 200th try.
    assert.ok(statuses.filter((status) => status === 429).length >= 100, attacker);
  }
  const sessions = await s.db.selectFrom("session").select("id").execute();
  assert.deepEqual(sessions, [], "no account was taken");

  // The owners, from their own trusted browsers and addresses, still sign in.
  for (const owner of owners.slice(0, 10)) {
    const response = await s.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress: "192.168.1.20",
      headers: { cookie: owner.trustedCookie },
      payload: { identifier: owner.email, password: ownerPassword },
    });
    assert.equal(response.statusCode, 200, response.body);
  }
});
