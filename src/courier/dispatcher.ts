import type { Selectable } from "kysely";
import { newId } from "../crypto/secrets.ts";
import { dialectOf } from "../db/database.ts";
import type { OutboxMessageTable } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { logoutChannel, queueEndedSignInLogouts } from "../oidc/backchannel-logout.ts";
import { deliverLogoutNotice } from "../oidc/logout-delivery.ts";

type OutboxRow = Selectable<OutboxMessageTable>;

const batchSize = 10;
const maxBackoffSeconds = 3600;

/** Seconds to wait before retry number `attempts` (1-based): 5, 10, 20, … capped at an hour. */
export function backoffSeconds(attempts: number): number {
  return Math.min(maxBackoffSeconds, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Claims due messages with a lease: pending ones whose time has come, and ones whose sender's
 * lease ran out (the process died mid-send). On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several
 * processes claim side by side without waiting for or double-claiming each other's rows.
 */
async function claimDueMessages(deps: Deps, workerId: string): Promise<OutboxRow[]> {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const leaseEnd = new Date(now.getTime() + deps.config.limits.outboxLeaseSeconds * 1000).toISOString();
  let due = deps.db
    .selectFrom("outbox_message")
    .select("id")
    .where((eb) =>
      eb.or([
        eb.and([eb("state", "=", "pending"), eb("next_attempt_at", "<=", nowText)]),
        eb.and([eb("state", "=", "sending"), eb("lease_expires_at", "<=", nowText)]),
      ]),
    )
    .orderBy("next_attempt_at")
    .limit(batchSize);
  if (dialectOf(deps.db) === "postgres") due = due.forUpdate().skipLocked();
  return deps.db
    .updateTable("outbox_message")
    .set((eb) => ({
      state: "sending",
      leased_by: workerId,
      lease_expires_at: leaseEnd,
      attempts: eb("attempts", "+", 1),
    }))
    .where("id", "in", due)
    .returningAll()
    .execute();
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
    const failedForGood = row.attempts >= deps.config.limits.outboxMaxAttempts;
    const next = new Date(deps.clock.now().getTime() + backoffSeconds(row.attempts) * 1000);
    await deps.db
      .updateTable("outbox_message")
      .set({
        state: failedForGood ? "failed" : "pending",
        next_attempt_at: next.toISOString(),
        lease_expires_at: null,
        leased_by: null,
        last_error: (error as Error).message.slice(0, 500),
      })
      .where("id", "=", row.id)
      .where("leased_by", "=", workerId)
      .execute();
    const log = { messageId: row.id, channel: row.channel, template: row.template, attempts: row.attempts };
    if (failedForGood) deps.log.error({ ...log, err: error }, "message could not be delivered; giving up");
    else deps.log.warn({ ...log, err: error }, "message delivery failed; will retry");
    return;
  }
  // Outside the development outbox the delivered body (which may hold a code) is not kept.
  const keepBody = deps.config.devOutbox;
  await deps.db
    .updateTable("outbox_message")
    .set({
      state: "sent",
      sent_at: deps.clock.now().toISOString(),
      lease_expires_at: null,
      last_error: null,
      ...(keepBody ? {} : { text_body: "", html_body: null, dev_code: null }),
    })
    .where("id", "=", row.id)
    .where("leased_by", "=", workerId)
    .execute();
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
    running = dispatchDueMessages(deps, workerId)
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
