import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";

after(stopSharedPostgres);

const phone = "+819012345678";

async function withVerifiedPhone(app: TestApp): Promise<{ email: string; accountId: string }> {
  const owner = await app.registerAccount({ email: "taro.yamada@example.co.jp" });
  await app.db
    .updateTable("account")
    .set({ phone, phone_verified_at: app.clock.now().toISOString() })
    .where("id", "=", owner.accountId)
    .execute();
  return owner;
}

async function smsCode(app: TestApp, to: string): Promise<string | undefined> {
  const row = await app.db
    .selectFrom("outbox_message")
    .select(["text_body", "channel"])
    .where("recipient", "=", to)
    .where("channel", "=", "sms")
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .executeTakeFirst();
  return row ? /\b(\d{6})\b/.exec(row.text_body)?.[1] : undefined;
}

async function start(app: TestApp, body: Record<string, unknown>) {
  return app.inject({ method: "POST", url: "/api/v1/email-reminders", payload: body });
}

async function verify(app: TestApp, id: string, code: string) {
  return app.inject({ method: "POST", url: `/api/v1/email-reminders/${id}/verify`, payload: { code } });
}

for (const dialect of dialects) {
  describe(`forgot your email (${dialect})`, () => {
    test("an SMS code to the verified mobile number shows the email masked", async (t) => {
      const app = await buildTestApp(t, { dialect });
      await withVerifiedPhone(app);
      const started = await start(app, { phone: "090-1234-5678" });
      assert.equal(started.statusCode, 202);
      const id = started.json<{ emailReminder: { id: string } }>().emailReminder.id;
      const code = await smsCode(app, phone);
      assert.ok(code, "an SMS was queued");
      const shown = await verify(app, id, code);
      assert.equal(shown.statusCode, 200);
      assert.deepEqual(shown.json(), { email: "t***@example.co.jp" });
      assert.equal((await verify(app, id, code)).statusCode, 404, "single use");
    });

    test("an unknown or unverified number gets the same answer and no SMS", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await app.registerAccount();
      // A number typed into an account but never verified is not proof of anything.
      await app.db.updateTable("account").set({ phone }).where("id", "=", owner.accountId).execute();
      const started = await start(app, { phone: "09012345678" });
      assert.equal(started.statusCode, 202);
      assert.deepEqual(Object.keys(started.json<{ emailReminder: object }>().emailReminder).sort(), [
        "expiresAt",
        "flowToken",
        "id",
      ]);
      assert.equal(await smsCode(app, phone), undefined);
      const id = started.json<{ emailReminder: { id: string } }>().emailReminder.id;
      const guess = await verify(app, id, "123456");
      assert.equal(guess.statusCode, 400);
      assert.equal(guess.json<{ error: { code: string } }>().error.code, "invalid_code");
    });

    test("an SMS email reminder is refused after five wrong tries, even when the sixth is right", async (t) => {
      const app = await buildTestApp(t, { dialect });
      await withVerifiedPhone(app);
      const id = (await start(app, { phone })).json<{ emailReminder: { id: string } }>().emailReminder.id;
      const code = await smsCode(app, phone);
      assert.ok(code);
      for (let i = 0; i < 5; i++) await verify(app, id, code === "000000" ? "111111" : "000000");
      assert.equal((await verify(app, id, code)).statusCode, 429);
    });

    test("an SMS code lives 10 minutes", async (t) => {
      const app = await buildTestApp(t, { dialect });
      await withVerifiedPhone(app);
      const id = (await start(app, { phone })).json<{ emailReminder: { id: string } }>().emailReminder.id;
      const code = await smsCode(app, phone);
      assert.ok(code);
      app.clock.advance(10 * 60 + 1);
      assert.equal((await verify(app, id, code)).statusCode, 410);
    });

    test("requests per phone number are capped, so the form cannot pump SMS", async (t) => {
      const app = await buildTestApp(t, { dialect });
      await withVerifiedPhone(app);
      for (let i = 0; i < 3; i++) assert.equal((await start(app, { phone })).statusCode, 202);
      const fourth = await start(app, { phone: "090 1234 5678" });
      assert.equal(fourth.statusCode, 429);
      assert.ok(Number(fourth.headers["retry-after"]) > 0);
      const sms = await app.db
        .selectFrom("outbox_message")
        .select("id")
        .where("channel", "=", "sms")
        .execute();
      assert.equal(sms.length, 3);
    });

    test("text that is not a phone number is a clear error", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const bad = await start(app, { phone: "hello" });
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(
        {
          code: bad.json<{ error: { code: string; field: string } }>().error.code,
          field: bad.json<{ error: { field: string } }>().error.field,
        },
        { code: "phone_invalid", field: "phone" },
      );
    });
  });
}
