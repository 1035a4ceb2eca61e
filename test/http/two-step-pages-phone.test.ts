import assert from "node:assert/strict";
import { test } from "node:test";
import { challengePages } from "../../src/flows/sign-in/challenge-browser.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { type Form, flowCookieSetBy, location, openForm, postForm, wrongCode } from "../support/forms.ts";
import { phoneCode } from "../support/two-step.ts";

// The two-step pages with a phone as the primary method, and the recovery codes' own pages, as
// plain HTML forms through inject() (no JavaScript).

const two = "/account/security/two-step";
const mobile = "+819012345678";

/** Two-step on through the pages with SMS to 090-1234-5678; answers the signed-in form. */
async function ownerWithSms(
  s: TestApp,
): Promise<{ email: string; password: string; form: Form; recoveryCodes: string[] }> {
  const owner = await s.registerAccount({ locale: "en" });
  const form = await openForm(s, `${two}/setup`, owner.cookie);
  const started = await postForm(s, `${two}/setup`, form, {
    _csrf: form.csrf,
    method: "sms",
    phone: "090-1234-5678",
  });
  const codePage = await openForm(s, location(started), form.cookie);
  assert.match(codePage.body, /We texted a security code to \*\*\*-\*\*\*\*-5678\./);
  const code = await phoneCode(s, mobile);
  assert.ok(code);
  assert.equal(
    location(await postForm(s, location(started), form, { _csrf: form.csrf, code })),
    `${two}/enable`,
  );
  const enabled = await postForm(s, `${two}/enable`, form, { _csrf: form.csrf });
  assert.equal(enabled.statusCode, 200);
  const recoveryCodes = [...enabled.body.matchAll(/<li><code>([2-9A-Z]{5}-[2-9A-Z]{5})<\/code><\/li>/g)].map(
    (m) => m[1] ?? "",
  );
  return { email: owner.email, password: owner.password, form, recoveryCodes };
}

test("an SMS challenge: a resend within the cooldown says how long to wait; a later one sends a new code", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithSms(s);
  s.clock.advance(61);
  const signIn = await openForm(s, "/sign-in");
  const posted = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: owner.email,
    password: owner.password,
  });
  const url = location(posted);
  // The challenge's pages belong to this browser: it keeps the cookie the sign-in set.
  const browser = `${signIn.cookie}; ${flowCookieSetBy(posted, challengePages.cookie) ?? ""}`;
  // Before sign-in the page speaks the browser's language (Japanese here), like the sign-in page.
  const page = await openForm(s, url, browser);
  assert.match(page.body, /\*\*\*-\*\*\*\*-5678にSMSでセキュリティコードを送信しました。/);
  assert.match(page.body, /<h2>コードが届かない場合<\/h2>/);
  const first = await phoneCode(s, mobile);
  assert.ok(first);
  const action = url.split("?")[0] ?? "";
  const early = await postForm(s, `${action}/resend`, page, { _csrf: page.csrf, return_to: "/account" });
  assert.equal(early.statusCode, 429);
  assert.equal(early.headers["retry-after"], "60");
  assert.match(early.body, /1分ほど待ってからもう一度お試しください。届いているコードはそのまま使えます。/);

  s.clock.advance(61);
  const resent = location(
    await postForm(s, `${action}/resend`, page, { _csrf: page.csrf, return_to: "/account" }),
  );
  assert.equal(resent, `${action}?return_to=%2Faccount&resent=1`);
  assert.match(
    (await openForm(s, resent, page.cookie)).body,
    /role="status">新しいセキュリティコードを送信しました。/,
  );
  const second = await phoneCode(s, mobile);
  assert.ok(second && second !== first, "a new code was texted");
  const wrong = await postForm(s, action, page, {
    _csrf: page.csrf,
    code: first === second ? "000000" : first,
  });
  assert.equal(wrong.statusCode, 400, "the replaced code no longer works");
  assert.equal(location(await postForm(s, action, page, { _csrf: page.csrf, code: second })), "/account");
});

test("a phone primary's step-up sends a code first; new recovery codes replace the old ones", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithSms(s);
  const oldCodes = await openForm(s, two, owner.form.cookie);
  assert.match(oldCodes.body, /Unused recovery codes: 10/);
  s.clock.advance(11 * 60);
  // Password first (the sign-in is old), then the step-up page for the texted code.
  const reauth = await openForm(
    s,
    `/account/security/reauthenticate?return_to=${encodeURIComponent(`${two}/recovery-codes`)}`,
    owner.form.cookie,
  );
  const back = await postForm(s, "/account/security/reauthenticate", reauth, {
    _csrf: reauth.csrf,
    password: owner.password,
    return_to: `${two}/recovery-codes`,
  });
  const stepUp = location(
    await s.inject({ method: "GET", url: location(back), headers: { cookie: reauth.cookie } }),
  );
  const stepUpPage = await openForm(s, stepUp, reauth.cookie);
  assert.match(stepUpPage.body, /We&#39;ll text a security code to \*\*\*-\*\*\*\*-5678\./);
  assert.doesNotMatch(stepUpPage.body, /name="code"/, "no code field before a code was sent");
  const methodId = /name="method_id" value="(mth_[0-9a-z]+)"/.exec(stepUpPage.body)?.[1] ?? "";
  const fields = { _csrf: stepUpPage.csrf, method_id: methodId, return_to: `${two}/recovery-codes` };
  const sent = location(await postForm(s, "/account/security/step-up/send", stepUpPage, fields));
  assert.match(sent, /sent=1/);
  const code = await phoneCode(s, mobile);
  assert.ok(code);
  const wrong = await postForm(s, "/account/security/step-up", stepUpPage, {
    ...fields,
    code: wrongCode(code),
  });
  assert.equal(wrong.statusCode, 400);
  const confirm = location(await postForm(s, "/account/security/step-up", stepUpPage, { ...fields, code }));
  assert.equal(confirm, `${two}/recovery-codes`);

  const confirmPage = await openForm(s, confirm, reauth.cookie);
  assert.match(confirmPage.body, /all your current recovery codes stop working/);
  const fresh = await postForm(s, confirm, confirmPage, { _csrf: confirmPage.csrf });
  assert.equal(fresh.statusCode, 200);
  assert.match(fresh.body, /role="status">New recovery codes created\./);
  assert.equal([...fresh.body.matchAll(/<li><code>[2-9A-Z]{5}-[2-9A-Z]{5}<\/code><\/li>/g)].length, 10);
  assert.match(fresh.body, /href="data:text\/plain;charset=utf-8,[^"]+" download="recovery-codes.txt"/);
  // The codes shown when two-step was turned on no longer sign in.
  assert.equal(owner.recoveryCodes.length, 10);
  const challenge = await s.signIn({ identifier: owner.email, password: owner.password });
  const id = challenge.json<{ challenge: { id: string } }>().challenge.id;
  const old = await s.inject({
    method: "POST",
    url: `/api/v1/sign-in/challenges/${id}/verify`,
    payload: { method: "recovery_code", code: owner.recoveryCodes[0] },
  });
  assert.equal(old.statusCode, 400, old.body);
});
