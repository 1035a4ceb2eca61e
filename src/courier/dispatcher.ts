import type { Selectable } from "kysely";
import { newId } from "../crypto/secrets.ts";
import type { OutboxMessageTable } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { logoutChannel, queueEndedSignInLogouts } from "../oidc/backchannel-logout.ts";
import { deliverLogoutNotice } from "../oidc/logout-delivery.ts";
import { countMessageAttemptFailed, countMessageSent } from "../operations/metrics.ts";
import { dispatchDueWebhooks } from "../webhooks/delivery.ts";
import { backoffSeconds, claimDue, markSent, releaseAfterFailure } from "./lease-queue.ts";

type OutboxRow = Selectable<OutboxMessageTable>;

const batchSize = 10;

export { backoffSeconds };

async function claimDueMessages(deps: Deps, workerId: string): Promise<OutboxRow[]> {
  return claimDue(deps.db, "outbox_message", {
    workerId,
    now: deps.clock.now(),
    leaseSeconds: deps.config.limits.outboxLeaseSeconds,
    batchSize,
  });
}

/** How a row goes out: a message through its channel's transport, or a shop's logout token. */
function deliveryOf(deps: Deps, row: OutboxRow): { name: string; send(): Promise<void> } {
  const channel = row.channel;
  if (channel === logoutChannel)
    return { name: "backchannel-logout", send: () => deliverLogoutNotice(deps, row) };
  const transport = deps.courier.transports[channel];
  return {
    name: transport.name,
    send: () =>
      transport.send({
        id: row.id,
        channel,
        recipient: row.recipient,
        subject: row.subject,
        text: row.text_body,
        html: row.html_body,
        locale: row.locale,
      }),
  };
}

async function deliver(deps: Deps, workerId: string, row: OutboxRow): Promise<void> {
  const transport = deliveryOf(deps, row);
  try {
    await transport.send();
  } catch (error) {
    const failedForGood = await releaseAfterFailure(deps.db, "outbox_message", row, {
      workerId,
      now: deps.clock.now(),
      maxAttempts: deps.config.limits.outboxMaxAttempts,
      error: (error as Error).message,
    });
    countMessageAttemptFailed(row.channel, failedForGood);
    const log = { messageId: row.id, channel: row.channel, template: row.template, attempts: row.attempts };
    if (failedForGood) deps.log.error({ ...log, err: error }, "message could not be delivered; giving up");
    else deps.log.warn({ ...log, err: error }, "message delivery failed; will retry");
    return;
  }
  countMessageSent(row.channel, row.recipient);
  // Outside the development outbox the delivered body (which may hold a code) is not kept.
  const keepBody = deps.config.devOutbox;
  await markSent(deps.db, "outbox_message", row.id, {
    workerId,
    now: deps.clock.now(),
    extra: keepBody ? {} : { text_body: "", html_body: null, dev_code: null },
  });
  deps.log.info(
    { messageId: row.id, channel: row.channel, template: row.template, transport: transport.name },
    "message sent",
  );
}

/** Sends every message due now; returns how many were claimed. Tests call it to drain the outbox. */
export async function dispatchDueMessages(deps: Deps, workerId = newId(deps.random, "wrk")): Promise<number> {
  // Shops' sign-ins that ended since the last round: their logout tokens join the outbox first.
  await queueEndedSignInLogouts(deps.db, deps);
  let total = 0;
  for (;;) {
    const claimed = await claimDueMessages(deps, workerId);
    if (claimed.length === 0) return total;
    total += claimed.length;
    await Promise.all(claimed.map((row) => deliver(deps, workerId, row)));
  }
}

export type Dispatcher = { stop(): Promise<void> };

/**
 * Runs the dispatcher in this process: wakes when a message is queued here, and polls so messages
 * queued by other processes or due for retry go out too. At-least-once: a message is marked sent
 * only after its transport accepted it.
 */
export function startDispatcher(deps: Deps, pollIntervalMs = 1000): Dispatcher {
  const workerId = newId(deps.random, "wrk");
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  function run(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    // Webhooks to the shop share the dispatcher, its lease and its backoff (src/webhooks/delivery.ts).
    running = Promise.all([dispatchDueMessages(deps, workerId), dispatchDueWebhooks(deps, workerId)])
      .then(() => undefined)
      .catch((error: unknown) => deps.log.error({ err: error }, "outbox dispatch failed"))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  }

  deps.courier.setWaker(run);
  const timer = setInterval(run, pollIntervalMs);
  timer.unref();
  run();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      deps.courier.setWaker(() => {});
      await running;
    },
  };
}
