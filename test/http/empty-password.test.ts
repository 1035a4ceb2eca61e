import assert from "node:assert/strict";
import { test } from "node:test";
import { assertApiError, buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { openForm, postForm } from "../support/forms.ts";

// An empty password is a slip (the Enter key pressed too early, a password manager that filled
// nothing), not a guess: it is answered as bad input before anything is counted or hashed.

async function failureCounters(s: TestApp): Promise<{ lockouts: number; throttles: string[] }> {
  const lockouts = await s.db.selectFrom("sign_in_lockout").select("key").execute();
  const throttles = await s.db.selectFrom("throttle_counter").select("key").execute();
  return {
    lockouts: lockouts.length,
    throttles: throttles.map((row) => row.key).filter((key) => /sign_in|reauth/.test(key)),
  };
}

test("an empty password is a validation error, not a counted sign-in failure", async (t) => {
  // Attack it stops (on the owner): a page or script that submits empty passwords for someone's
  // address would pause their sign-in and spend the address's failure budget without any guess.
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const account = await s.registerAccount({ email: "hanako@example.jp" });

  const one = await s.signIn({ identifier: account.email, password: "" });
  const error = assertApiError(one, 400, "invalid_request");
  assert.equal(error.field, "password");
  // Many at once, well past the per-identifier threshold of 3.
  const many = await Promise.all(
    Array.from({ length: 20 }, () => s.signIn({ identifier: account.email, password: "" })),
  );
  for (const response of many) assertApiError(response, 400, "invalid_request");

  assert.deepEqual(await failureCounters(s), { lockouts: 0, throttles: [] });
  const right = await s.signIn({ identifier: account.email, password: account.password });
  assert.equal(right.statusCode, 200, right.body);
});

test("an empty password on the sign-in page asks for the password and counts nothing", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const account = await s.registerAccount({ email: "hanako@example.jp" });
  const form = await openForm(s, "/sign-in");
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      postForm(s, "/sign-in", form, { _csrf: form.csrf, identifier: account.email, password: "" }),
    ),
  );
  for (const page of answers) {
    assert.equal(page.statusCode, 400, page.body);
    assert.match(page.body, /パスワードを入力してください。/);
    assert.match(page.body, /value="hanako@example\.jp"/, "the identifier is kept");
  }
  assert.deepEqual(await failureCounters(s), { lockouts: 0, throttles: [] });
  const right = await postForm(s, "/sign-in", form, {
    _csrf: form.csrf,
    identifier: account.email,
    password: account.password,
  });
  assert.equal(right.statusCode, 303, right.body);
});

test("an empty password on reauthentication is a validation error, not a counted failure", async (t) => {
  // Attack it stops: a stolen session's empty submissions spending the owner's reauthentication budget.
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const account = await s.registerAccount();
  const api = await Promise.all(
    Array.from({ length: 10 }, () =>
      s.inject({
        method: "POST",
        url: "/api/v1/session/reauthenticate",
        headers: { ...sameOrigin(s.config), cookie: account.cookie },
        payload: { password: "" },
      }),
    ),
  );
  for (const response of api)
    assert.equal(assertApiError(response, 400, "invalid_request").field, "password");

  const form = await openForm(s, "/account/security/reauthenticate", account.cookie);
  const page = await postForm(s, "/account/security/reauthenticate", form, {
    _csrf: form.csrf,
    password: "",
  });
  assert.equal(page.statusCode, 400, page.body);
  assert.match(page.body, /パスワードを入力してください。/);

  assert.deepEqual(await failureCounters(s), { lockouts: 0, throttles: [] });
  const right = await s.inject({
    method: "POST",
    url: "/api/v1/session/reauthenticate",
    headers: { ...sameOrigin(s.config), cookie: account.cookie },
    payload: { password: account.password },
  });
  assert.equal(right.statusCode, 200, right.body);
});
