import assert from "node:assert/strict";
import { test } from "node:test";
import { parseWebhookConfig } from "./webhook-config.ts";

test("a webhook delivery's timeout must be shorter than the outbox lease (else a slow endpoint gets the event twice at once)", () => {
  const problems: string[] = [];
  parseWebhookConfig({ MAMORI_WEBHOOK_TIMEOUT_SECONDS: "60" }, 60, problems);
  assert.match(
    problems.join("\n"),
    /MAMORI_WEBHOOK_TIMEOUT_SECONDS \(60\) must be shorter than MAMORI_OUTBOX_LEASE_SECONDS \(60\)/,
  );
  const fine: string[] = [];
  assert.equal(parseWebhookConfig({ MAMORI_WEBHOOK_TIMEOUT_SECONDS: "59" }, 60, fine).timeoutSeconds, 59);
  assert.deepEqual(fine, []);
});

test("webhook defaults: 10 s (inside a shorter lease by default), 15 attempts, private networks refused", () => {
  const problems: string[] = [];
  assert.deepEqual(parseWebhookConfig({}, 60, problems), {
    timeoutSeconds: 10,
    maxAttempts: 15,
    allowPrivateNetworks: false,
  });
  assert.equal(parseWebhookConfig({}, 4, problems).timeoutSeconds, 3);
  assert.equal(
    parseWebhookConfig({ MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" }, 60, problems).allowPrivateNetworks,
    true,
  );
  assert.deepEqual(problems, []);
  parseWebhookConfig({ MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "maybe" }, 60, problems);
  assert.match(problems.join("\n"), /must be true or false/);
});
