import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/app.ts";

const chromeOnMac =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
const firefoxOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0";

test("a sign-in from a browser or country the account never used mails the owner; a known one does not", async (t) => {
  const s = await buildTestApp(t);
  const started = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    remoteAddress: "133.242.0.1",
    headers: { "user-agent": chromeOnMac },
    payload: { name: "Jiro Sato", email: "jiro@example.jp", password: "Kanata-Hoshi-5521-Umi", locale: "en" },
  });
  const id = started.json<{ registration: { id: string } }>().registration.id;
  const code = await s.latestCode("jiro@example.jp");
  await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${id}/verify`,
    remoteAddress: "133.242.0.1",
    headers: { "user-agent": chromeOnMac },
    payload: { code },
  });
  const signIn = (remoteAddress: string, userAgent: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress,
      headers: { "user-agent": userAgent },
      payload: { identifier: "jiro@example.jp", password: "Kanata-Hoshi-5521-Umi" },
    });
  const newSignIns = async () =>
    (await s.messagesTo("jiro@example.jp")).filter((m) => m.template === "new_sign_in");

  assert.equal((await signIn("133.242.0.1", chromeOnMac)).statusCode, 200);
  assert.equal((await newSignIns()).length, 0, "the registration's browser and country are known");

  assert.equal((await signIn("133.242.0.1", firefoxOnWindows)).statusCode, 200);
  const [byBrowser] = await newSignIns();
  assert.match(byBrowser?.text_body ?? "", /Firefox \(Windows\)/);
  assert.match(byBrowser?.text_body ?? "", /Japan/);

  assert.equal((await signIn("8.8.8.8", firefoxOnWindows)).statusCode, 200);
  const all = await newSignIns();
  assert.equal(all.length, 2);
  assert.ok(all.some((m) => /United States/.test(m.text_body)));

  assert.equal((await signIn("8.8.8.8", firefoxOnWindows)).statusCode, 200);
  assert.equal((await newSignIns()).length, 2, "seen once, known from then on");
});
