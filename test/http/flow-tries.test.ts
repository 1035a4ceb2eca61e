import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp, strongPassword } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { wrongCode } from "../support/forms.ts";
import { errorCodeOf } from "../support/two-step.ts";

after(stopSharedPostgres);

test("a resend gives no new tries: the tries belong to the flow, not the code", async (t) => {
  // Attack: guess 4 codes, ask for a new one, guess 4 more, and so on; 5 tries must mean 5.
  const s = await buildTestApp(t);
  const email = "resend-tries@example.jp";
  const started = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword },
  });
  const id = started.json<{ registration: { id: string } }>().registration.id;
  const first = (await s.latestCode(email)) ?? "";
  for (let left = 4; left >= 2; left--) {
    const wrong = await s.inject({
      method: "POST",
      url: `/api/v1/registrations/${id}/verify`,
      payload: { code: wrongCode(first) },
    });
    assert.equal(wrong.json<{ error: { attemptsLeft: number } }>().error.attemptsLeft, left);
  }
  s.clock.advance(61);
  const resent = await s.inject({ method: "POST", url: `/api/v1/registrations/${id}/resend` });
  assert.equal(resent.statusCode, 202, resent.body);
  const second = (await s.latestCode(email)) ?? "";
  assert.notEqual(second, first);
  const wrong = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${id}/verify`,
    payload: { code: wrongCode(second) },
  });
  assert.equal(
    wrong.json<{ error: { attemptsLeft: number } }>().error.attemptsLeft,
    1,
    "4 tries spent, 1 left",
  );
  await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${id}/verify`,
    payload: { code: wrongCode(second) },
  });
  const right = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${id}/verify`,
    payload: { code: second },
  });
  assert.notEqual(
    right.statusCode,
    201,
    "the fifth wrong try ended the flow: even the right code is refused",
  );
});

test("a completed password reset lifts the sign-in pause for that account", async (t) => {
  // Someone else's guesses paused sign-in; the owner proves the mailbox and is let in at once.
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const owner = await s.registerAccount();
  for (let i = 0; i < 3; i++) await s.signIn({ identifier: owner.email, password: `wrong-guess-${i}` });
  const paused = await s.signIn({ identifier: owner.email, password: owner.password });
  assert.equal(errorCodeOf(paused), "too_many_attempts");

  const reset = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: owner.email },
  });
  const resetId = reset.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const code = (await s.latestCode(owner.email, "password_reset_code")) ?? "";
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${resetId}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const newPassword = "Hoshizora-Ame-8812-Kitsune";
  const completed = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${resetId}/complete`,
    payload: { newPassword },
  });
  assert.equal(completed.statusCode, 200, completed.body);
  const signedIn = await s.signIn({ identifier: owner.email, password: newPassword });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
});
