import assert from "node:assert/strict";
import { test } from "node:test";
import { assertApiError, buildTestApp, strongPassword, type TestApp } from "../support/app.ts";

// One address, however it is typed: a full-width address (a Japanese keyboard's ｈａｎａｋｏ＠…) is
// the ASCII one, and an address with an invisible or bidirectional character is no address at all.

const fullWidth = "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ";

async function startRegistration(s: TestApp, email: string) {
  return s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword, locale: "ja" },
  });
}

async function accountEmails(s: TestApp): Promise<string[]> {
  return (await s.db.selectFrom("account").select("email").execute()).map((row) => row.email);
}

test("an email typed full-width registers as the ASCII address, and signs in and resets with either", async (t) => {
  const s = await buildTestApp(t);
  const started = await startRegistration(s, fullWidth);
  assert.equal(started.statusCode, 201, started.body);
  const registration = started.json<{ registration: { id: string; email: string } }>().registration;
  assert.equal(registration.email, "hanako@example.jp");
  const code = await s.latestCode("hanako@example.jp");
  assert.ok(code, "the code went to the ASCII address");
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${registration.id}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 201, verified.body);
  assert.deepEqual(await accountEmails(s), ["hanako@example.jp"]);

  for (const identifier of ["hanako@example.jp", fullWidth, "ＨＡＮＡＫＯ@example.jp"]) {
    const signedIn = await s.signIn({ identifier, password: strongPassword });
    assert.equal(signedIn.statusCode, 200, `${identifier}: ${signedIn.body}`);
  }
  const reset = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: fullWidth },
  });
  assert.equal(reset.statusCode, 202, reset.body);
  assert.ok(
    await s.latestCode("hanako@example.jp", "password_reset_code"),
    "the reset code went to the account",
  );
  // The same address typed the other way is taken: its owner is told, no second account is made.
  const again = await startRegistration(s, "HANAKO@example.jp");
  assert.equal(again.statusCode, 201);
  const messages = await s.messagesTo("hanako@example.jp");
  assert.ok(messages.some((m) => m.template === "registration_existing_account"));
});

test("an email with a zero-width or bidirectional character is refused as email_invalid, and makes no look-alike account", async (t) => {
  // Attack: `hana\u200Bko@example.jp` looks like the owner's address. An account under it could
  // pass for the owner's in a shop's back office, and a mail to it for a mail to the owner.
  const s = await buildTestApp(t);
  const owner = await s.registerAccount({ email: "hanako@example.jp" });
  const lookAlikes = [
    "hana\u200Bko@example.jp",
    "hanako\u200C@example.jp",
    "hana\u200Dko@example.jp",
    "hana\u2060ko@example.jp",
    "\uFEFFhanako@example.jp",
    "hanako@exam\u200Eple.jp",
    "hanako@\u202Epj.elpmaxe",
    "hana\u2066ko\u2069@example.jp",
  ];
  const answers = await Promise.all(lookAlikes.map((email) => startRegistration(s, email)));
  for (const [index, response] of answers.entries()) {
    const error = assertApiError(response, 400, "email_invalid");
    assert.equal(error.field, "email", JSON.stringify(lookAlikes[index]));
  }
  assert.deepEqual(await accountEmails(s), ["hanako@example.jp"]);
  const registrations = await s.db.selectFrom("registration").select("email").execute();
  assert.deepEqual(
    registrations.map((row) => row.email),
    ["hanako@example.jp"],
    "no registration was even started",
  );
  // Nor do they reach the owner's account another way.
  for (const identifier of lookAlikes.slice(0, 3)) {
    assertApiError(await s.signIn({ identifier, password: owner.password }), 401, "invalid_credentials");
  }
});

test("the ASCII and full-width forms registered at the same time make one account", async (t) => {
  const s = await buildTestApp(t);
  const started = await Promise.all([
    startRegistration(s, "hanako@example.jp"),
    startRegistration(s, fullWidth),
  ]);
  const ids = started.map((r) => {
    assert.equal(r.statusCode, 201, r.body);
    return r.json<{ registration: { id: string } }>().registration.id;
  });
  const codes = await s.db
    .selectFrom("outbox_message")
    .select(["dev_code", "text_body"])
    .where("recipient", "=", "hanako@example.jp")
    .execute();
  const sixDigits = codes.map((row) => row.dev_code ?? /\b(\d{6})\b/.exec(row.text_body)?.[1] ?? "");
  assert.equal(sixDigits.filter((code) => /^\d{6}$/.test(code)).length, 2, "two codes were mailed");
  const verified = await Promise.all(
    ids.flatMap((id) =>
      sixDigits.map((code) =>
        s.inject({ method: "POST", url: `/api/v1/registrations/${id}/verify`, payload: { code } }),
      ),
    ),
  );
  for (const response of verified) assert.ok(response.statusCode < 500, response.body);
  assert.equal(verified.filter((r) => r.statusCode === 201).length, 1, "one of them made the account");
  assert.deepEqual(await accountEmails(s), ["hanako@example.jp"]);
});
