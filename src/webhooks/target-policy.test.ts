import assert from "node:assert/strict";
import { test } from "node:test";
import { startWebhookReceiver } from "../../test/support/webhook-receiver.ts";
import { postWebhook } from "./delivery.ts";
import { checkEndpointUrl, checkEndpointUrlShape, isPrivateAddress } from "./target-policy.ts";

const strict = { environment: "test", allowPrivateNetworks: false } as const;
const allowing = { environment: "test", allowPrivateNetworks: true } as const;
const secret = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;

test("a webhook endpoint on a private network is refused unless the operator allows private networks (SSRF)", async () => {
  // Attack: whoever can add an endpoint (or trick an operator into it) makes Mamori POST to the
  // cloud metadata service, the database's admin port or another internal service.
  for (const url of [
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hooks",
    "https://172.20.1.1/hooks",
    "https://192.168.1.10/hooks",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://[::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "http://127.0.0.1:8080/hooks",
  ]) {
    assert.match((await checkEndpointUrl(url, strict)) ?? "", /private network/, url);
    assert.equal(await checkEndpointUrl(url, allowing), undefined, `${url} when the operator allows it`);
  }
  // A name is judged by its addresses: localhost is loopback.
  assert.match(
    (await checkEndpointUrl("https://localhost/hooks", strict)) ?? "",
    /resolves to .* private network/,
  );
  assert.equal(await checkEndpointUrl("https://93.184.215.14/hooks", strict), undefined, "a public address");
});

test("a webhook endpoint must be https, http only to loopback outside production, and carry no credentials", () => {
  assert.match(checkEndpointUrlShape("http://93.184.215.14/hooks", allowing) ?? "", /https/);
  assert.match(checkEndpointUrlShape("http://shop.example/hooks", allowing) ?? "", /https/);
  assert.match(
    checkEndpointUrlShape("http://127.0.0.1/hooks", {
      environment: "production",
      allowPrivateNetworks: true,
    }) ?? "",
    /https/,
  );
  assert.equal(checkEndpointUrlShape("http://127.0.0.1/hooks", allowing), undefined);
  assert.match(checkEndpointUrlShape("ftp://shop.example/hooks", allowing) ?? "", /https/);
  assert.match(checkEndpointUrlShape("https://user:pw@shop.example/hooks", allowing) ?? "", /user name/);
  assert.match(checkEndpointUrlShape("not a url", allowing) ?? "", /not a URL/);
  assert.equal(isPrivateAddress("8.8.8.8"), false);
  assert.equal(isPrivateAddress("2606:4700::1111"), false);
});

test("a delivery whose name resolves to a private address when it connects is refused (DNS rebinding)", async (t) => {
  // Attack: a name that resolved to a public address when the endpoint was added points inside
  // later. The address is checked where the connection is made, so the request never leaves.
  const receiver = await startWebhookReceiver();
  t.after(() => receiver.close());
  const port = new URL(receiver.url).port;
  const options = { timeoutSeconds: 5, allowPrivateNetworks: false };
  const message = { id: "msg_rebinding", body: "{}", secrets: [secret] };
  const byName = await postWebhook({ ...message, url: `http://localhost:${port}/hooks` }, options);
  assert.equal(byName.ok, false);
  assert.match(byName.ok ? "" : byName.error, /private network/);
  const byAddress = await postWebhook({ ...message, url: `http://127.0.0.1:${port}/hooks` }, options);
  assert.match(byAddress.ok ? "" : byAddress.error, /private network/);
  assert.equal(receiver.received.length, 0, "nothing reached the private address");
  // The same receiver, allowed explicitly, is reached.
  receiver.secrets = [secret];
  const allowed = await postWebhook(
    { ...message, url: `http://localhost:${port}/hooks` },
    { ...options, allowPrivateNetworks: true },
  );
  assert.deepEqual(allowed, { ok: true, status: 204 });
  assert.equal(receiver.received.length, 1);
});
