import assert from "node:assert/strict";
import { after, type TestContext, test } from "node:test";
import { runHousekeeping } from "../../src/operations/housekeeping.ts";
import type { LogOutput } from "../../src/operations/log-output.ts";
import { createLogger } from "../../src/operations/logger.ts";
import { createStaff, disableStaff, reinviteStaff } from "../../src/staff/staff-accounts.ts";
import { staffAbsoluteSeconds, staffIdleSeconds } from "../../src/staff/staff-sessions.ts";
import { buildTestApp, type RegisteredAccount, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { cookieSetBy, openForm, postForm } from "../support/forms.ts";
import { appCode, enrolStaff, type Staff, signInStaff, staffOf, staffPassword } from "../support/staff.ts";
import { accountWithApp, isTwoStepOn } from "../support/two-step.ts";
import { cancelTokenMailed, recoveryStates, templatesTo } from "../support/two-step-recovery.ts";

// The operator console (/admin): staff accounts apart from customers, always two factors, short
// sessions, roles decided on the server, and every action with a reason that reaches the staff
// trail, the customer's audit and, where it concerns them, the customer's mailbox.

after(stopSharedPostgres);

async function act(
  s: TestApp,
  staff: Staff,
  account: Pick<RegisteredAccount, "accountId">,
  action: string,
  reason: string,
) {
  const page = await openForm(s, `/admin/customers/${account.accountId}`, staff.cookie);
  return postForm(s, `/admin/customers/${account.accountId}/actions`, page, {
    _csrf: page.csrf,
    action,
    reason,
  });
}

async function setUp(t: TestContext) {
  const s = await buildTestApp(t);
  const customer = await s.registerAccount({ email: "customer@example.jp" });
  return { s, customer };
}

test("a console page without a staff session sends to the staff sign-in, and a customer's session is no staff session", async (t) => {
  const { s, customer } = await setUp(t);
  for (const url of [
    "/admin",
    "/admin/customers",
    `/admin/customers/${customer.accountId}`,
    "/admin/staff",
  ]) {
    const anonymous = await s.inject({ method: "GET", url });
    assert.equal(anonymous.statusCode, 303, url);
    assert.equal(anonymous.headers.location, "/admin/sign-in");
    const asCustomer = await s.inject({ method: "GET", url, headers: { cookie: customer.cookie } });
    assert.equal(asCustomer.statusCode, 303, `${url} with a customer's cookie`);
  }
});

test("staff sign-in needs the password and the app's code: the password alone gets nothing", async (t) => {
  const { s } = await setUp(t);
  const staff = await enrolStaff(s, "support@shop.example.jp", "support");
  const form = await openForm(s, "/admin/sign-in");
  // Attack: a phished staff password without the phone.
  const passwordOnly = await postForm(s, "/admin/sign-in", form, {
    _csrf: form.csrf,
    email: staff.email,
    password: staffPassword,
    code: "",
  });
  assert.equal(passwordOnly.statusCode, 401);
  assert.equal(cookieSetBy(passwordOnly, "mamori_staff"), undefined);
  const wrongCode = await postForm(s, "/admin/sign-in", form, {
    _csrf: form.csrf,
    email: staff.email,
    password: staffPassword,
    code: appCode(s, staff.key, 5),
  });
  assert.equal(wrongCode.statusCode, 401);
  // The same message whichever part was wrong.
  const wrongPassword = await postForm(s, "/admin/sign-in", form, {
    _csrf: form.csrf,
    email: staff.email,
    password: "wrong-password-here",
    code: appCode(s, staff.key),
  });
  assert.equal(wrongPassword.statusCode, 401);
  const message = (body: string) => /role="alert"><p>([^<]+)</.exec(body)?.[1];
  assert.equal(message(passwordOnly.body), message(wrongPassword.body));
  assert.ok(await signInStaff(s, staff));
});

test("a staff app code works once: replayed at once, it signs nobody in", async (t) => {
  const { s } = await setUp(t);
  const staff = await enrolStaff(s, "support@shop.example.jp", "support");
  const code = appCode(s, staff.key);
  const form = await openForm(s, "/admin/sign-in");
  const fields = { email: staff.email, password: staffPassword, code };
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => postForm(s, "/admin/sign-in", form, { _csrf: form.csrf, ...fields })),
  );
  assert.equal(answers.filter((r) => r.statusCode === 303).length, 1, "one sign-in per code");
});

test("staff sessions end after 30 idle minutes and after 8 hours, and staff disabled or invited again lose them at once", async (t) => {
  const { s } = await setUp(t);
  const staff = await staffOf(s, "support@shop.example.jp", "support");
  const open = () => s.inject({ method: "GET", url: "/admin", headers: { cookie: staff.cookie } });
  assert.equal((await open()).statusCode, 200);
  s.clock.advance(staffIdleSeconds + 1);
  assert.equal((await open()).statusCode, 303, "idle");

  const again = await signInStaff(s, staff);
  const openAgain = () => s.inject({ method: "GET", url: "/admin", headers: { cookie: again.cookie } });
  for (let elapsed = 0; elapsed < staffAbsoluteSeconds; elapsed += staffIdleSeconds - 60) {
    assert.equal((await openAgain()).statusCode, 200);
    s.clock.advance(staffIdleSeconds - 60);
  }
  assert.equal((await openAgain()).statusCode, 303, "past 8 hours");

  // Someone who left, or whose phone was lost: their open console ends at the next request.
  const third = await signInStaff(s, staff);
  const openThird = () => s.inject({ method: "GET", url: "/admin", headers: { cookie: third.cookie } });
  assert.equal((await openThird()).statusCode, 200);
  assert.ok((await reinviteStaff(s.deps, staff.email)).ok);
  assert.equal((await openThird()).statusCode, 303, "invited again");
  const other = await staffOf(s, "other@shop.example.jp", "support");
  const openOther = () => s.inject({ method: "GET", url: "/admin", headers: { cookie: other.cookie } });
  assert.equal((await openOther()).statusCode, 200);
  assert.ok((await disableStaff(s.deps, other.email)).ok);
  assert.equal((await openOther()).statusCode, 303, "disabled");
});

test("support can sign a customer out everywhere, with a reason that reaches the customer's audit and mailbox", async (t) => {
  const { s, customer } = await setUp(t);
  const staff = await staffOf(s, "support@shop.example.jp", "support");
  const noReason = await act(s, staff, customer, "sign_out_everywhere", "   ");
  assert.equal(noReason.statusCode, 400);
  const before = await s.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { cookie: customer.cookie },
  });
  assert.equal(before.statusCode, 200);

  const done = await act(s, staff, customer, "sign_out_everywhere", "お客様からの依頼（電話）");
  assert.equal(done.statusCode, 200, done.body);
  const afterwards = await s.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { cookie: customer.cookie },
  });
  assert.equal(afterwards.statusCode, 401, "the customer's session ended");
  const audit = await s.db
    .selectFrom("audit_event")
    .select(["actor", "detail"])
    .where("account_id", "=", customer.accountId)
    .where("type", "=", "session.revoked_by_support")
    .execute();
  assert.equal(audit.length, 1);
  assert.match(audit[0]?.detail ?? "", /お客様からの依頼/);
  const mails = await s.messagesTo(customer.email);
  assert.ok(
    mails.some((m) => m.template === "signed_out_by_support" && m.text_body.includes("お客様からの依頼")),
  );
  const trail = await s.db.selectFrom("staff_action").selectAll().execute();
  assert.deepEqual(
    trail.map((a) => [a.action, a.account_id, a.reason]),
    [["sign_out_everywhere", customer.accountId, "お客様からの依頼（電話）"]],
  );
});

test("a support person cannot close or reopen an account; an admin can, and the customer is mailed", async (t) => {
  const { s, customer } = await setUp(t);
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const page = await openForm(s, `/admin/customers/${customer.accountId}`, support.cookie);
  assert.doesNotMatch(page.body, /value="close"/, "no close button for support");
  // Attack: support forging the form an admin would see.
  const forged = await act(s, support, customer, "close", "試しに");
  assert.equal(forged.statusCode, 403);
  const account = await s.db
    .selectFrom("account")
    .select("status")
    .where("id", "=", customer.accountId)
    .executeTakeFirst();
  assert.equal(account?.status, "active");

  const suspended = await act(s, support, customer, "suspend", "不正利用の疑い");
  assert.equal(suspended.statusCode, 200, suspended.body);
  assert.equal((await act(s, support, customer, "reopen", "確認が取れた")).statusCode, 403);

  const admin = await staffOf(s, "admin@shop.example.jp", "admin");
  const reopened = await act(s, admin, customer, "reopen", "本人確認済み");
  assert.equal(reopened.statusCode, 200, reopened.body);
  const closed = await act(s, admin, customer, "close", "お客様のご依頼");
  assert.equal(closed.statusCode, 200, closed.body);
  const row = await s.db
    .selectFrom("account")
    .select("status")
    .where("id", "=", customer.accountId)
    .executeTakeFirst();
  assert.equal(row?.status, "closed");
  const templates = (await s.messagesTo(customer.email)).map((m) => m.template);
  assert.equal(templates.filter((x) => x === "account_status_changed").length, 3);
});

test("the console finds a customer by email, mobile number, name or id, and shows no secret", async (t) => {
  const { s, customer } = await setUp(t);
  await s.db
    .updateTable("account")
    .set({ phone: "+819012345678" })
    .where("id", "=", customer.accountId)
    .execute();
  const staff = await staffOf(s, "support@shop.example.jp", "support");
  for (const q of [
    "customer@example.jp",
    "090-1234-5678",
    "０９０１２３４５６７８",
    customer.name.slice(0, 2),
    customer.accountId,
  ]) {
    const found = await s.inject({
      method: "GET",
      url: `/admin/customers?q=${encodeURIComponent(q)}`,
      headers: { cookie: staff.cookie },
    });
    assert.equal(found.statusCode, 200);
    assert.match(found.body, new RegExp(`/admin/customers/${customer.accountId}`), `found by ${q}`);
  }
  const wildcard = await s.inject({
    method: "GET",
    url: "/admin/customers?q=%25",
    headers: { cookie: staff.cookie },
  });
  assert.doesNotMatch(wildcard.body, /\/admin\/customers\/acc_/, "% is a character, not a wildcard");
  const file = await s.inject({
    method: "GET",
    url: `/admin/customers/${customer.accountId}`,
    headers: { cookie: staff.cookie },
  });
  assert.equal(file.statusCode, 200);
  const hash = await s.db
    .selectFrom("account")
    .select("password_hash")
    .where("id", "=", customer.accountId)
    .executeTakeFirst();
  assert.ok(hash?.password_hash);
  assert.ok(!file.body.includes(hash.password_hash), "no password hash");
  const code = await s.latestCode(customer.email);
  if (code) assert.ok(!file.body.includes(code), "no code from a mail");
});

test("only admins see the staff list and turn maintenance on, with a reason", async (t) => {
  const { s } = await setUp(t);
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const admin = await staffOf(s, "admin@shop.example.jp", "admin");
  assert.equal(
    (await s.inject({ method: "GET", url: "/admin/staff", headers: { cookie: support.cookie } })).statusCode,
    403,
  );
  assert.equal(
    (await s.inject({ method: "GET", url: "/admin/staff", headers: { cookie: admin.cookie } })).statusCode,
    200,
  );
  const supportForm = await openForm(s, "/admin", support.cookie);
  assert.equal(
    (
      await postForm(s, "/admin/maintenance", supportForm, {
        _csrf: supportForm.csrf,
        action: "maintenance_on",
        reason: "test",
      })
    ).statusCode,
    403,
  );
  const adminForm = await openForm(s, "/admin", admin.cookie);
  const on = await postForm(s, "/admin/maintenance", adminForm, {
    _csrf: adminForm.csrf,
    action: "maintenance_on",
    reason: "DB移行",
  });
  assert.equal(on.statusCode, 200, on.body);
  const signIn = await s.signIn({ identifier: "nobody@example.jp", password: "whatever-password" });
  assert.equal(signIn.statusCode, 503, "customers see maintenance");
  const off = await postForm(s, "/admin/maintenance", adminForm, {
    _csrf: adminForm.csrf,
    action: "maintenance_off",
    reason: "完了",
  });
  assert.equal(off.statusCode, 200, off.body);
});

test("an enrolment link works once and not after 24 hours", async (t) => {
  const { s } = await setUp(t);
  const created = await createStaff(s.deps, {
    email: "late@shop.example.jp",
    name: "遅刻 一郎",
    role: "support",
  });
  assert.ok(created.ok);
  const path = new URL(created.enrolUrl).pathname + new URL(created.enrolUrl).search;
  s.clock.advance(24 * 3600 + 1);
  assert.equal((await s.inject({ method: "GET", url: path })).statusCode, 410);
  const fresh = await enrolStaff(s, "fresh@shop.example.jp", "support");
  assert.ok(fresh.key.length > 0);
  const createdAgain = await s.db
    .selectFrom("staff_account")
    .select("enrol_token_hash")
    .where("email", "=", fresh.email)
    .executeTakeFirst();
  assert.equal(createdAgain?.enrol_token_hash, null, "the link is spent");
});

test("the enrolment link's token never reaches the request log", async (t) => {
  // Attack: someone who reads the logs (a log service, a colleague with log access) copies the
  // token of a link not yet used from the "incoming request" line, opens it first, and becomes
  // a member of staff with the role the CLI gave, admin included.
  const lines: string[] = [];
  const output: LogOutput = {
    write: (line) => {
      lines.push(line);
    },
    writePending: () => {},
    dropped: () => 0,
    flush: async () => {},
    reportDropped: () => {},
    notice: () => {},
  };
  const s = await buildTestApp(t, { log: createLogger({ logLevel: "info" }, output) });
  const created = await createStaff(s.deps, {
    email: "new@shop.example.jp",
    name: "新人 次郎",
    role: "admin",
  });
  assert.ok(created.ok);
  const link = new URL(created.enrolUrl);
  const token = link.searchParams.get("token") ?? "";
  assert.ok(token.length > 20);
  const page = await s.inject({ method: "GET", url: link.pathname + link.search });
  assert.equal(page.statusCode, 200);
  const incoming = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "incoming request");
  assert.equal(incoming?.req?.url, "/admin/enrol?token=[redacted]", "the path and the query's names stay");
  assert.ok(!lines.some((l) => l.includes(token)), "no log line holds the token");
});

test("a closed account can only be reopened: support cannot cancel its erasure by suspending it", async (t) => {
  const { s, customer } = await setUp(t);
  const admin = await staffOf(s, "admin@shop.example.jp", "admin");
  const closed = await act(s, admin, customer, "close", "お客様のご依頼");
  assert.equal(closed.statusCode, 200, closed.body);
  const before = await s.db
    .selectFrom("account")
    .select(["status", "erase_after"])
    .where("id", "=", customer.accountId)
    .executeTakeFirstOrThrow();
  assert.ok(before.erase_after);
  // Attack: a support person (who may suspend, never reopen) posts "suspend" for the closed
  // account; the old code took closed → suspended and cleared erase_after, so the customer's
  // data was never erased, without an admin's say and without the customer knowing.
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const suspended = await act(s, support, customer, "suspend", "念のため");
  assert.equal(suspended.statusCode, 409, suspended.body);
  const after = await s.db
    .selectFrom("account")
    .select(["status", "erase_after"])
    .where("id", "=", customer.accountId)
    .executeTakeFirstOrThrow();
  assert.deepEqual(after, before, "still closed, its erasure still due");
  // An admin cannot either: reopening is the only way back.
  assert.equal((await act(s, admin, customer, "suspend", "念のため")).statusCode, 409);
});

test("parallel status changes of one account change it once: one audit event, one mail", async (t) => {
  const { s, customer } = await setUp(t);
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const page = await openForm(s, `/admin/customers/${customer.accountId}`, support.cookie);
  // Attack (or a double click): the same change posted many times at once; each request read the
  // account before any changed it, and the old code applied every one of them.
  const answers = await Promise.all(
    Array.from({ length: 8 }, () =>
      postForm(s, `/admin/customers/${customer.accountId}/actions`, page, {
        _csrf: page.csrf,
        action: "suspend",
        reason: "不正利用の疑い",
      }),
    ),
  );
  assert.equal(answers.filter((a) => a.statusCode === 200).length, 1);
  assert.ok(answers.every((a) => a.statusCode === 200 || a.statusCode === 409));
  const events = await s.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", customer.accountId)
    .where("type", "=", "account.suspended")
    .execute();
  assert.equal(events.length, 1);
  const mails = (await s.messagesTo(customer.email)).filter((m) => m.template === "account_status_changed");
  assert.equal(mails.length, 1);
});

test("a console change with a staff session cookie must say where it comes from (Origin or Sec-Fetch-Site)", async (t) => {
  // Attack: a request from no page of ours (neither Origin nor Sec-Fetch-Site, as from an old
  // browser or a plug-in) carries the console's cookie and a form token it got hold of. The
  // global origin check let through any request without those headers unless it carried the
  // CUSTOMER's cookie: a staff cookie was no ambient authority to it. Now it is.
  const { s, customer } = await setUp(t);
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const page = await openForm(s, `/admin/customers/${customer.accountId}`, support.cookie);
  const response = await s.inject({
    method: "POST",
    url: `/admin/customers/${customer.accountId}/actions`,
    headers: { cookie: page.cookie, "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({ _csrf: page.csrf, action: "suspend", reason: "偽の依頼" }).toString(),
  });
  assert.equal(response.statusCode, 403, response.body);
  const row = await s.db
    .selectFrom("account")
    .select("status")
    .where("id", "=", customer.accountId)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, "active");
  // The same form from the console's own page goes through.
  const own = await act(s, support, customer, "suspend", "不正利用の疑い");
  assert.equal(own.statusCode, 200, own.body);
});

test("nothing is done to an erased account from the console, so no personal data comes back", async (t) => {
  const { s, customer } = await setUp(t);
  const admin = await staffOf(s, "admin@shop.example.jp", "admin");
  assert.equal((await act(s, admin, customer, "close", "お客様のご依頼")).statusCode, 200);
  s.clock.advance(s.config.limits.accountErasureGraceSeconds + 1);
  assert.equal((await runHousekeeping(s.deps)).erasedAccounts, 1);
  // Attack on the erasure: support "signs out everywhere" the erased account with a reason that
  // names the caller; the old code wrote the reason to the audit and the staff trail and queued
  // a mail, so the erased person's data was stored again.
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const reason = "田中 一郎様 090-1234-5678 からお電話";
  const refused = await act(s, support, customer, "sign_out_everywhere", reason);
  assert.equal(refused.statusCode, 409, refused.body);
  const trail = await s.db
    .selectFrom("staff_action")
    .select("reason")
    .where("account_id", "=", customer.accountId)
    .execute();
  assert.ok(
    trail.every((a) => a.reason === ""),
    "no reason about the person is kept",
  );
  const audit = await s.db
    .selectFrom("audit_event")
    .select("detail")
    .where("account_id", "=", customer.accountId)
    .execute();
  assert.ok(audit.every((e) => !e.detail.includes("090-1234-5678")));
  const mails = await s.db
    .selectFrom("outbox_message")
    .select("id")
    .where("recipient", "like", "%@erased.invalid")
    .execute();
  assert.deepEqual(mails, []);
});

test("support starts the two-step recovery for a customer with a reason: it waits, the owner is mailed and can cancel", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const page = await openForm(s, `/admin/customers/${owner.accountId}`, support.cookie);
  assert.match(page.body, /value="reset_two_step"/, "support sees the waiting recovery");
  assert.doesNotMatch(page.body, /value="reset_two_step_now"/, "but not the one without waiting");
  const started = await act(s, support, owner, "reset_two_step", "スマートフォン紛失（電話で本人確認）");
  assert.equal(started.statusCode, 200, started.body);
  assert.deepEqual(await recoveryStates(s, owner.accountId), ["waiting"]);
  assert.equal(await isTwoStepOn(s, owner.accountId), true, "still on during the wait");
  assert.ok((await templatesTo(s, owner.email)).some((x) => x.startsWith("two_step_recovery")));
  await cancelTokenMailed(s, owner);
  const trail = await s.db.selectFrom("staff_action").selectAll().execute();
  assert.deepEqual(
    trail.map((a) => [a.action, a.account_id, a.reason]),
    [["reset_two_step", owner.accountId, "スマートフォン紛失（電話で本人確認）"]],
  );
  // The trail names the recovery whose events the customer's audit holds.
  const startedEvent = await s.db
    .selectFrom("audit_event")
    .select("detail")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "two_step_recovery.started")
    .executeTakeFirstOrThrow();
  const recoveryId = (JSON.parse(startedEvent.detail) as { recoveryId: string }).recoveryId;
  assert.match(trail[0]?.detail ?? "", new RegExp(recoveryId));
  // A second one while the first waits is refused, not stacked.
  assert.equal((await act(s, support, owner, "reset_two_step", "二回目")).statusCode, 409);
});

test("support cannot turn a customer's two-step off without the waiting period; an admin can", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const support = await staffOf(s, "support@shop.example.jp", "support");
  // Attack: a support person (or someone at a support person's desk) forges the admin's form to
  // take two-step off at once, leaving the owner no time to cancel.
  const forged = await act(s, support, owner, "reset_two_step_now", "急ぎ");
  assert.equal(forged.statusCode, 403, forged.body);
  assert.equal(await isTwoStepOn(s, owner.accountId), true);
  assert.deepEqual(await recoveryStates(s, owner.accountId), []);

  const admin = await staffOf(s, "admin@shop.example.jp", "admin");
  const now = await act(s, admin, owner, "reset_two_step_now", "本人確認済み・至急");
  assert.equal(now.statusCode, 200, now.body);
  assert.equal(await isTwoStepOn(s, owner.accountId), false, "off at once");
  const trail = await s.db.selectFrom("staff_action").select(["action", "reason"]).execute();
  assert.deepEqual(
    trail.map((a) => [a.action, a.reason]),
    [["reset_two_step_now", "本人確認済み・至急"]],
  );
  // The file no longer offers it: two-step is off.
  const page = await openForm(s, `/admin/customers/${owner.accountId}`, admin.cookie);
  assert.doesNotMatch(page.body, /value="reset_two_step/);
});
