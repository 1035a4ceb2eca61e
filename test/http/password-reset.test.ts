import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { setAccountStatus } from "../../src/identity/accounts.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";

after(stopSharedPostgres);

const newPassword = "Hoshizora-Kaede-5529-Ringo";

type ResetApp = TestApp & {
  request(
    identifier: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; id: string; body: string }>;
  verify(id: string, code: string): Promise<{ status: number; body: Record<string, unknown> }>;
  complete(id: string, password: string): Promise<{ status: number; body: Record<string, unknown> }>;
  resetCode(to: string): Promise<string | undefined>;
};

async function resetApp(t: Parameters<typeof buildTestApp>[0], dialect: (typeof dialects)[number], env = {}) {
  const base = await buildTestApp(t, { dialect, env });
  const app: ResetApp = {
    ...base,
    async request(identifier, headers = {}) {
      const r = await base.inject({
        method: "POST",
        url: "/api/v1/password-resets",
        payload: { identifier },
        headers,
      });
      const id = r.statusCode === 202 ? r.json<{ passwordReset: { id: string } }>().passwordReset.id : "";
      return { status: r.statusCode, id, body: r.body };
    },
    async verify(id, code) {
      const r = await base.inject({
        method: "POST",
        url: `/api/v1/password-resets/${id}/verify`,
        payload: { code },
      });
      return { status: r.statusCode, body: r.json() };
    },
    async complete(id, password) {
      const r = await base.inject({
        method: "POST",
        url: `/api/v1/password-resets/${id}/complete`,
        payload: { newPassword: password },
      });
      return { status: r.statusCode, body: r.json() };
    },
    async resetCode(to) {
      const row = await base.db
        .selectFrom("outbox_message")
        .select("text_body")
        .where("recipient", "=", to)
        .where("template", "=", "password_reset_code")
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .executeTakeFirst();
      return row ? /\b(\d{6})\b/.exec(row.text_body)?.[1] : undefined;
    },
  };
  return app;
}

function errorCode(body: Record<string, unknown>): unknown {
  return (body.error as { code?: unknown } | undefined)?.code;
}

function wrongCodeFor(code: string): string {
  return code === "000000" ? "111111" : "000000";
}

for (const dialect of dialects) {
  describe(`password reset (${dialect})`, () => {
    test("the answer is the same for an existing and an unknown email, and only the owner is mailed", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const known = await app.request(owner.email);
      const unknown = await app.request("nobody@example.jp");
      assert.equal(known.status, 202);
      assert.equal(unknown.status, 202);
      const shape = (body: string) => Object.keys(JSON.parse(body).passwordReset).sort();
      assert.deepEqual(shape(known.body), shape(unknown.body));
      assert.ok(await app.resetCode(owner.email));
      assert.deepEqual(await app.messagesTo("nobody@example.jp"), []);
      // The decoy's code is never right, and fails the same way.
      const decoy = await app.verify(unknown.id, "123456");
      assert.equal(decoy.status, 400);
      assert.equal(errorCode(decoy.body), "invalid_code");
    });

    test("a completed reset ends every session, mails the owner, and only the new password signs in", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount({ locale: "en" });
      const started = await app.request(owner.email.toUpperCase());
      const code = await app.resetCode(owner.email);
      assert.ok(code);
      assert.equal((await app.verify(started.id, code)).status, 200);
      const done = await app.complete(started.id, newPassword);
      assert.equal(done.status, 200);
      assert.deepEqual(done.body, { status: "password_changed" });

      const me = await app.inject({
        method: "GET",
        url: "/api/v1/session",
        headers: { cookie: owner.cookie },
      });
      assert.equal(me.statusCode, 401, "the old session ended");
      const changed = (await app.messagesTo(owner.email)).filter((m) => m.template === "password_changed");
      assert.equal(changed.length, 1);
      assert.match(changed[0]?.text_body ?? "", /signed out on every device/);
      assert.equal((await app.signIn({ identifier: owner.email, password: owner.password })).statusCode, 401);
      assert.equal((await app.signIn({ identifier: owner.email, password: newPassword })).statusCode, 200);
      const audit = await app.db
        .selectFrom("audit_event")
        .select("type")
        .where("account_id", "=", owner.accountId)
        .where("type", "=", "password_reset.completed")
        .execute();
      assert.equal(audit.length, 1);
    });

    test("a reset code is stored only as a hash", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const code = await app.resetCode(owner.email);
      assert.ok(code);
      const rows = await app.db
        .selectFrom("verification_code")
        .selectAll()
        .where("flow_id", "=", started.id)
        .execute();
      assert.equal(rows.length, 1);
      assert.doesNotMatch(JSON.stringify(rows), new RegExp(code));
    });

    test("a reset code is refused after five wrong tries, even when the sixth is right", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const code = await app.resetCode(owner.email);
      assert.ok(code);
      const lefts: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        const wrong = await app.verify(started.id, wrongCodeFor(code));
        lefts.push((wrong.body.error as { attemptsLeft?: number }).attemptsLeft);
      }
      assert.deepEqual(lefts, [4, 3, 2, 1, 0]);
      const sixth = await app.verify(started.id, code);
      assert.equal(sixth.status, 429);
      assert.equal(errorCode(sixth.body), "too_many_attempts");
      assert.equal((await app.complete(started.id, newPassword)).status, 429);
    });

    test("a reset code expires after its lifetime", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const code = await app.resetCode(owner.email);
      assert.ok(code);
      app.clock.advance(15 * 60 + 1);
      const late = await app.verify(started.id, code);
      assert.equal(late.status, 410);
      assert.equal(errorCode(late.body), "code_expired");
    });

    test("the flow cannot jump to complete without a verified code", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const jump = await app.complete(started.id, newPassword);
      assert.equal(jump.status, 409);
      assert.equal(errorCode(jump.body), "code_not_verified");
      assert.equal((await app.signIn({ identifier: owner.email, password: owner.password })).statusCode, 200);
    });

    test("a reset is single use: the code and the flow are spent once completed", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const code = await app.resetCode(owner.email);
      assert.ok(code);
      await app.verify(started.id, code);
      assert.equal((await app.complete(started.id, newPassword)).status, 200);
      assert.equal((await app.verify(started.id, code)).status, 404);
      assert.equal((await app.complete(started.id, "Another-Fresh-Pass-8812")).status, 404);
    });

    test("a new reset voids the older one's code", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const first = await app.request(owner.email);
      const firstCode = await app.resetCode(owner.email);
      assert.ok(firstCode);
      app.clock.advance(1); // so "the newest mail" is well defined
      const second = await app.request(owner.email);
      const old = await app.verify(first.id, firstCode);
      assert.equal(old.status, 404);
      assert.equal(errorCode(old.body), "password_reset_not_found");
      const secondCode = await app.resetCode(owner.email);
      assert.ok(secondCode);
      assert.equal((await app.verify(second.id, secondCode)).status, 200);
    });

    test("a resend waits for the 60-second cooldown, voids the old code, and stops after 5 sends", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const firstCode = await app.resetCode(owner.email);
      const resend = () =>
        app.inject({ method: "POST", url: `/api/v1/password-resets/${started.id}/resend` });
      const early = await resend();
      assert.equal(early.statusCode, 429);
      assert.ok(Number(early.headers["retry-after"]) > 0);
      for (let send = 2; send <= 5; send++) {
        app.clock.advance(61);
        assert.equal((await resend()).statusCode, 202, `send ${send}`);
      }
      app.clock.advance(61);
      assert.equal((await resend()).statusCode, 429, "a sixth send");
      const latest = await app.resetCode(owner.email);
      assert.ok(firstCode && latest);
      if (firstCode !== latest) assert.equal((await app.verify(started.id, firstCode)).status, 400);
      assert.equal((await app.verify(started.id, latest)).status, 200);
    });

    test("reset requests are throttled per identifier with 429 and Retry-After, accounts or not", async (t) => {
      const app = await resetApp(t, dialect, { MAMORI_PASSWORD_RESET_REQUESTS_PER_IDENTIFIER: "3" });
      const owner = await app.registerAccount();
      // The same address written differently is the same identifier.
      for (const identifier of [owner.email, "ghost@example.jp"]) {
        assert.equal((await app.request(` ${identifier.toUpperCase()} `)).status, 202);
        for (let i = 0; i < 2; i++) assert.equal((await app.request(identifier)).status, 202);
        const limited = await app.inject({
          method: "POST",
          url: "/api/v1/password-resets",
          payload: { identifier },
        });
        assert.equal(limited.statusCode, 429, identifier);
        assert.ok(Number(limited.headers["retry-after"]) > 0);
      }
    });

    test("reset requests are throttled per IP across identifiers", async (t) => {
      const app = await resetApp(t, dialect, { MAMORI_PASSWORD_RESET_REQUESTS_PER_IP: "4" });
      for (let i = 0; i < 4; i++) assert.equal((await app.request(`probe${i}@example.jp`)).status, 202);
      assert.equal((await app.request("probe9@example.jp")).status, 429);
    });

    test("a suspended or closed account gets no reset, and the answer does not say so", async (t) => {
      const app = await resetApp(t, dialect);
      for (const status of ["suspended", "closed"] as const) {
        const owner = await app.registerAccount();
        await setAccountStatus(app.db, owner.accountId, status, "test", app.clock.now());
        const started = await app.request(owner.email);
        assert.equal(started.status, 202);
        assert.equal(await app.resetCode(owner.email), undefined, `${status}: no code mailed`);
      }
    });

    test("the new password follows the registration policy and may not be a recent one", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      const started = await app.request(owner.email);
      const code = await app.resetCode(owner.email);
      assert.ok(code);
      await app.verify(started.id, code);
      const short = await app.complete(started.id, "short");
      assert.equal(errorCode(short.body), "password_too_short");
      const reused = await app.complete(started.id, owner.password);
      assert.equal(reused.status, 400);
      assert.equal(errorCode(reused.body), "password_reused");
      assert.equal((await app.complete(started.id, newPassword)).status, 200);
    });

    test("a verified mobile number starts a reset too; the code goes to the email", async (t) => {
      const app = await resetApp(t, dialect);
      const owner = await app.registerAccount();
      await app.db
        .updateTable("account")
        .set({ phone: "+819012345678", phone_verified_at: app.clock.now().toISOString() })
        .where("id", "=", owner.accountId)
        .execute();
      assert.equal((await app.request("090-1234-5678")).status, 202);
      assert.ok(await app.resetCode(owner.email));
    });
  });
}
