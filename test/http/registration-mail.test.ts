import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp, strongPassword, type TestApp } from "../support/app.ts";

// A registration's name is whatever the registrant typed, and its address is not verified yet:
// the name must not ride in a mail to that address. Attack: registering a stranger's address with
// the "name" `<攻撃者の宣伝 http://evil.example>` sends them a real mail, from the shop, that
// greets them with the advert (spam, or phishing under the shop's name).

const advert = "<攻撃者の宣伝 http://evil.example>";

async function register(s: TestApp, email: string) {
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: advert, email, password: strongPassword, locale: "ja" },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json<{ registration: { id: string } }>().registration.id;
}

async function mailsTo(s: TestApp, email: string): Promise<string[]> {
  const rows = await s.db
    .selectFrom("outbox_message")
    .select(["template", "subject", "text_body", "html_body"])
    .where("recipient", "=", email)
    .execute();
  return rows.map((row) => `${row.template}\n${row.subject}\n${row.text_body}\n${row.html_body ?? ""}`);
}

test("a registration's name is not placed in mail sent to an unverified address", async (t) => {
  const s = await buildTestApp(t);
  const id = await register(s, "stranger@example.jp");
  s.clock.advance(120);
  const resent = await s.inject({ method: "POST", url: `/api/v1/registrations/${id}/resend` });
  assert.equal(resent.statusCode, 202, resent.body);
  const mails = await mailsTo(s, "stranger@example.jp");
  assert.equal(mails.length, 2, "the code and the resent code");
  for (const mail of mails) {
    assert.match(mail, /^registration_code/);
    assert.doesNotMatch(mail, /evil\.example|攻撃者の宣伝/, mail);
  }
});

test("the mail to an existing owner about a registration names the owner, never the registrant's name", async (t) => {
  const s = await buildTestApp(t);
  await s.registerAccount({ email: "hanako@example.jp", name: "山田 花子" });
  await register(s, "hanako@example.jp");
  const mails = (await mailsTo(s, "hanako@example.jp")).filter((m) =>
    m.startsWith("registration_existing_account"),
  );
  assert.equal(mails.length, 1);
  assert.match(mails[0] ?? "", /山田 花子 様/);
  assert.doesNotMatch(mails[0] ?? "", /evil\.example|攻撃者の宣伝/);
});
