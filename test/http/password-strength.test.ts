import assert from "node:assert/strict";
import { test } from "node:test";
import { assertApiError, buildTestApp, strongPassword, type TestApp } from "../support/app.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";

// POST /api/v1/passwords/strength (shared/API.md, "Password generator and strength"): what the
// live strength meter asks while someone types a new password.

type Strength = {
  score: number;
  guessesLog10: number;
  level: number;
  crackTime: { seconds: number; display: string };
  feedback: { warning: string | null; suggestions: string[] };
  breached: boolean;
  policy: { ok: boolean; code?: string; message?: string };
};

function ask(s: TestApp, payload: unknown, headers: Record<string, string> = {}, remoteAddress?: string) {
  return s.inject({
    method: "POST",
    url: "/api/v1/passwords/strength",
    payload: payload as Record<string, unknown>,
    headers: { "accept-language": "ja", ...headers },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

async function strength(s: TestApp, payload: unknown, language = "ja"): Promise<Strength> {
  const response = await ask(s, payload, { "accept-language": language });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<Strength>();
}

test("a weak password scores low, with zxcvbn's warning and advice in Japanese for a Japanese request", async (t) => {
  const s = await buildTestApp(t);
  const answer = await strength(s, { password: "tanuki2024" });
  assert.ok(answer.score <= 1, `score ${answer.score}`);
  assert.ok(answer.guessesLog10 < 8, `guessesLog10 ${answer.guessesLog10}`);
  assert.ok(answer.crackTime.seconds < 3600 * 24, `crack time ${answer.crackTime.seconds} s`);
  // Minutes or seconds, in Japanese units (zxcvbn-ts itself only says "2 minutes").
  assert.match(answer.crackTime.display, /^(1秒未満|\d+秒|\d+分|\d+時間)$/);
  assert.ok(answer.feedback.suggestions.length > 0);
  for (const words of [answer.feedback.warning ?? "", ...answer.feedback.suggestions]) {
    assert.doesNotMatch(words, /[A-Za-z]{4,}/, `not Japanese: ${words}`);
  }
  assert.deepEqual(answer.policy, {
    ok: false,
    code: "password_too_weak",
    message: "このパスワードは推測されやすいです。単語を増やすか、長くしてください。",
  });
});

test("the same weak password is described in English for an English request", async (t) => {
  const s = await buildTestApp(t);
  const ja = await strength(s, { password: "password" }, "ja");
  const en = await strength(s, { password: "password" }, "en-US,en;q=0.9");
  assert.equal(ja.score, 0);
  assert.equal(en.score, 0);
  assert.equal(ja.feedback.warning, "非常によく使われているパスワードです。");
  assert.equal(en.feedback.warning, "This is a heavily used password.");
  assert.equal(ja.crackTime.display, "1秒未満");
  assert.equal(en.crackTime.display, "less than a second");
  assert.match(en.feedback.suggestions[0] ?? "", /^[A-Z][a-z ,.'-]+/);
  assert.match(en.policy.message ?? "", /^[\x20-\x7e]+$/, "an English policy message");
});

test("a long passphrase scores 4 and the policy takes it", async (t) => {
  const s = await buildTestApp(t);
  for (const password of ["hoshizora no shita de 7 tsubame ga tobu", strongPassword]) {
    const answer = await strength(s, { password, userInputs: ["山田 花子", "hanako@example.jp"] });
    assert.equal(answer.score, 4, password);
    assert.ok(answer.guessesLog10 >= 10, `${password}: ${answer.guessesLog10}`);
    assert.equal(answer.crackTime.display, "数世紀");
    assert.deepEqual(answer.feedback, { warning: null, suggestions: [] });
    assert.equal(answer.breached, false);
    assert.deepEqual(answer.policy, { ok: true });
  }
});

test("a common password is breached and refused with the code registration gives", async (t) => {
  const s = await buildTestApp(t);
  const answer = await strength(s, { password: "password1" });
  assert.equal(answer.breached, true);
  assert.equal(answer.policy.code, "password_too_common");
  const registration = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email: "hanako@example.jp", password: "password1" },
  });
  assertApiError(registration, 400, answer.policy.code ?? "");
  // Not on the list: the same field says so.
  assert.equal((await strength(s, { password: strongPassword })).breached, false);
});

test("a password containing the email or name given in userInputs is refused as registration would", async (t) => {
  const s = await buildTestApp(t);
  const password = "hanako.yamada-Kumo-7381";
  const person = ["山田 花子", "hanako.yamada@example.jp"];
  const withPerson = await strength(s, { password, userInputs: person });
  assert.equal(withPerson.policy.code, "password_contains_identifier");
  assert.equal(withPerson.policy.message, "パスワードに氏名やEメールアドレスを含めないでください。");
  // Without the person's words the same password is not about anyone.
  const alone = await strength(s, { password });
  assert.notEqual(alone.policy.code, "password_contains_identifier");
  // A name word alone counts too (registration splits the name into words).
  const byName = await strength(s, { password: "xyz-YAMADA-river-77", userInputs: ["Hanako Yamada"] });
  assert.equal(byName.policy.code, "password_contains_identifier");
  const registration = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: person[0], email: person[1], password },
  });
  assertApiError(registration, 400, "password_contains_identifier");
});

test("bad input is a 400 in the error shape, never a 500", async (t) => {
  const s = await buildTestApp(t);
  const cases: [unknown, string | undefined][] = [
    [{ password: 12345678 }, "password"],
    [{}, "password"],
    [{ password: "x".repeat(4097) }, "password"],
    [{ password: "ok", userInputs: Array.from({ length: 11 }, (_, i) => `word${i}`) }, "userInputs"],
    [{ password: "ok", userInputs: ["a".repeat(321)] }, "userInputs.0"],
    [{ password: "ok", userInputs: "hanako@example.jp" }, "userInputs"],
    [{ password: "ok", userInputs: [42] }, "userInputs.0"],
    [{ password: "ok", extra: true }, "extra"],
  ];
  for (const [payload, field] of cases) {
    const error = assertApiError(await ask(s, payload), 400, "invalid_request");
    assert.equal(error.field, field, JSON.stringify(payload).slice(0, 80));
  }
  // The longest accepted password and ten inputs of 320 characters still get an answer.
  const longest = await ask(s, {
    password: "x".repeat(4096),
    userInputs: Array.from({ length: 10 }, () => "y".repeat(320)),
  });
  assert.equal(longest.statusCode, 200, longest.body);
  assert.equal(longest.json<Strength>().policy.code, "password_too_long");
});

test("each address may ask a limited number of times a minute: then 429 with Retry-After", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_PASSWORD_STRENGTH_CHECKS_PER_IP_PER_MINUTE: "3" } });
  const address = "203.0.113.9";
  for (let i = 0; i < 3; i++)
    assert.equal((await ask(s, { password: `try-${i}` }, {}, address)).statusCode, 200);
  const refused = await ask(s, { password: "one more" }, {}, address);
  const error = assertApiError(refused, 429, "too_many_attempts");
  assert.ok(error.message.length > 0);
  const retryAfter = Number(refused.headers["retry-after"]);
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${refused.headers["retry-after"]}`);
  // Another address is counted on its own; the first is served again after the minute.
  assert.equal((await ask(s, { password: "elsewhere" }, {}, "198.51.100.4")).statusCode, 200);
  s.clock.advance(60);
  assert.equal((await ask(s, { password: "again" }, {}, address)).statusCode, 200);
});

test("a burst of strength checks from one address waits its turn, and another address's check is answered before most of it", async (t) => {
  // Attack: one client sends dozens of checks of long passwords at once to hold the event loop.
  // They run one at a time, addresses in turn: the neighbour's check goes ahead of most of them.
  const s = await buildTestApp(t);
  const long = (i: number): string => `${i}-${"Zq8#xK2$pL5!".repeat(6)}`;
  const finished: string[] = [];
  const burst = Array.from({ length: 16 }, async (_, i) => {
    const answer = await ask(s, { password: long(i) }, {}, "203.0.113.9");
    finished.push(`burst ${i}`);
    return answer;
  });
  const neighbour = ask(s, { password: strongPassword }, {}, "198.51.100.4").then((answer) => {
    finished.push("neighbour");
    return answer;
  });
  const [answers, other] = await Promise.all([Promise.all(burst), neighbour]);
  // Every one of the burst is answered (none refused: a client waits rather than asking again).
  for (const answer of answers) {
    assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(answer.json<Strength>().breached, false);
  }
  assert.equal(other.statusCode, 200, other.body);
  assert.equal(other.json<Strength>().score, 4);
  const place = finished.indexOf("neighbour");
  assert.ok(place < 5, `the neighbour was answered ${place + 1}th of 17: ${finished.join(", ")}`);
});

test("answers are never cached, and a page on another site cannot ask in a visitor's name", async (t) => {
  const s = await buildTestApp(t);
  const answer = await ask(s, { password: strongPassword }, { "sec-fetch-site": "same-origin" });
  assert.equal(answer.statusCode, 200);
  assert.equal(answer.headers["cache-control"], "no-store");
  assert.equal((await ask(s, { password: "x" })).headers["cache-control"], "no-store");
  // Attack: another site's script uses visitors' browsers (and their addresses) to score passwords.
  assertApiError(
    await ask(s, { password: strongPassword }, { "sec-fetch-site": "cross-site" }),
    403,
    "csrf_failed",
  );
});

test("the route is in the OpenAPI document with its body limits", async (t) => {
  const s = await buildTestApp(t);
  const doc = (await s.inject({ method: "GET", url: "/api/openapi.json" })).json<{
    paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
  }>();
  const operation = doc.paths["/api/v1/passwords/strength"]?.post;
  assert.ok(operation, "POST /api/v1/passwords/strength is missing");
  for (const status of ["200", "400", "429"]) assert.ok(operation.responses[status], status);
  const body = JSON.stringify(operation.requestBody);
  assert.match(body, /"maxLength":4096/);
  assert.match(body, /"maxItems":10/);
});

test("every new-password field carries the meter, and no other password field does", async (t) => {
  const s = await buildTestApp(t);
  const meterOf = (body: string, id: string) =>
    new RegExp(`<input id="${id}"[^>]* data-strength="${id}-strength"`).test(body);
  const signUp = (await s.inject({ method: "GET", url: "/sign-up" })).body;
  assert.ok(meterOf(signUp, "password"), "sign-up");
  assert.match(signUp, /data-strength-fields="name email"/);
  assert.match(signUp, /<div class="strength-text" aria-live="polite" aria-atomic="true"><\/div>/);
  assert.match(
    signUp,
    /data-labels="\[&quot;とても弱い&quot;,&quot;弱い&quot;,&quot;普通&quot;,&quot;強い&quot;,&quot;とても強い&quot;\]"/,
  );
  assert.doesNotMatch((await s.inject({ method: "GET", url: "/sign-in" })).body, /data-strength/);

  const account = await s.registerAccount({ name: "山田 花子", email: "hanako@example.jp" });
  const change = (
    await s.inject({ method: "GET", url: "/account/security/password", headers: { cookie: account.cookie } })
  ).body;
  assert.ok(meterOf(change, "newPassword"), "change password");
  assert.ok(!meterOf(change, "currentPassword"), "the current password is never sent for scoring");
  assert.match(change, /data-strength-inputs="\[&quot;山田 花子&quot;,&quot;hanako@example.jp&quot;\]"/);

  // The reset's new-password page: the meter, but not the account's name or email (the page
  // belongs to whoever holds the code; the server checks them on submit).
  const form = await openForm(s, "/password-reset");
  const posted = await postForm(s, "/password-reset", form, { _csrf: form.csrf, identifier: account.email });
  const codeUrl = location(posted);
  const cookie = `${form.cookie}; ${flowCookieSetBy(posted, "mamori_reset")}`;
  const code = await s.latestCode(account.email, "password_reset_code");
  await postForm(s, codeUrl, { ...form, cookie }, { _csrf: form.csrf, code: code ?? "" });
  const reset = (await openForm(s, `${codeUrl}/new`, cookie)).body;
  assert.ok(meterOf(reset, "newPassword"), "reset");
  assert.doesNotMatch(reset, /data-strength-inputs|hanako@example\.jp|山田/);
});

test("the meter's label agrees with the crack time: 「Sakura2024!」 takes 3時間 and is 普通, never 強い", async (t) => {
  const s = await buildTestApp(t);
  // zxcvbn scores it 3, whose label was 強い, while the time beside it said 3時間.
  const hours = await strength(s, { password: "Sakura2024!" });
  assert.equal(hours.crackTime.display, "3時間");
  assert.equal(hours.score, 3);
  assert.equal(hours.level, 2, "普通: the band from about 3 hours to about 12 days");
  const days = await strength(s, { password: "tanuki-8842" });
  assert.equal(days.crackTime.display, "2日");
  assert.equal(days.level, 2);
  const centuries = await strength(s, { password: "correct-horse-battery-staple-42" });
  assert.equal(centuries.crackTime.display, "数世紀");
  assert.equal(centuries.level, 4);
  const page = await s.inject({ method: "GET", url: "/sign-up" });
  assert.match(
    page.body,
    /data-labels="\[&quot;とても弱い&quot;,&quot;弱い&quot;,&quot;普通&quot;,&quot;強い&quot;,&quot;とても強い&quot;\]"/,
  );
});
