import { recordAuditEvent } from "../audit/audit.ts";
import type { OutboxChannel } from "../db/schema.ts";
import type { Deps } from "../deps.ts";

/**
 * What an operator sees of the outbox and does with mail that failed its last attempt: list it,
 * and queue it again once the mail server is back. A failed message whose security code has
 * expired is never sent again (the code is useless, and a stale code in a mailbox only confuses):
 * a retry marks it `expired` instead.
 */
export type OutboxListing = {
  id: string;
  channel: OutboxChannel;
  recipient: string;
  template: string;
  state: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
};

export async function listOutboxMessages(
  deps: Pick<Deps, "db">,
  options: { failedOnly: boolean; limit: number },
): Promise<OutboxListing[]> {
  let query = deps.db
    .selectFrom("outbox_message")
    .select(["id", "channel", "recipient", "template", "state", "attempts", "last_error", "created_at"])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(options.limit);
  if (options.failedOnly) query = query.where("state", "=", "failed");
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    channel: row.channel,
    recipient: row.recipient,
    template: row.template,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
  }));
}

/** The outcome of retrying one message. */
export type RetryOutcome =
  | { id: string; outcome: "requeued" }
  | { id: string; outcome: "expired"; codeExpiredAt: string }
  | { id: string; outcome: "not_found" }
  | { id: string; outcome: "not_failed"; state: string };

/** The ids of every failed message, oldest first (the order they would have gone out). */
export async function failedMessageIds(deps: Pick<Deps, "db">): Promise<string[]> {
  const rows = await deps.db
    .selectFrom("outbox_message")
    .select("id")
    .where("state", "=", "failed")
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map((row) => row.id);
}

/**
 * Queues failed messages again, each with a fresh set of attempts, due now. Each change is one
 * guarded statement (`state = 'failed'`), so a retry racing another retry changes a message once;
 * each is audited. Wakes this process's dispatcher; serving processes pick the rest up on their poll.
 */
export async function retryFailedMessages(
  deps: Pick<Deps, "db" | "clock" | "random" | "courier">,
  ids: readonly string[],
): Promise<RetryOutcome[]> {
  const outcomes: RetryOutcome[] = [];
  for (const id of ids) outcomes.push(await retryOne(deps, id));
  if (outcomes.some((o) => o.outcome === "requeued")) deps.courier.wake();
  return outcomes;
}

async function retryOne(deps: Pick<Deps, "db" | "clock" | "random">, id: string): Promise<RetryOutcome> {
  const nowText = deps.clock.now().toISOString();
  const row = await deps.db
    .selectFrom("outbox_message")
    .select(["state", "channel", "template", "code_expires_at"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) return { id, outcome: "not_found" };
  if (row.state !== "failed") return { id, outcome: "not_failed", state: row.state };
  const detail = { messageId: id, channel: row.channel, template: row.template };
  return deps.db.transaction().execute(async (trx): Promise<RetryOutcome> => {
    if (row.code_expires_at !== null && row.code_expires_at <= nowText) {
      // The code in it no longer works: never send it; the person asks for a new one.
      const expired = await trx
        .updateTable("outbox_message")
        .set({ state: "expired", text_body: "", html_body: null, dev_code: null })
        .where("id", "=", id)
        .where("state", "=", "failed")
        .executeTakeFirst();
      if (expired.numUpdatedRows === 0n) return { id, outcome: "not_failed", state: "changed" };
      await recordAuditEvent(trx, deps, {
        type: "outbox.expired",
        accountId: null,
        actor: "operator",
        detail: { ...detail, codeExpiredAt: row.code_expires_at },
      });
      return { id, outcome: "expired", codeExpiredAt: row.code_expires_at };
    }
    const requeued = await trx
      .updateTable("outbox_message")
      .set({
        state: "pending",
        attempts: 0,
        next_attempt_at: nowText,
        lease_expires_at: null,
        leased_by: null,
      })
      .where("id", "=", id)
      .where("state", "=", "failed")
      .executeTakeFirst();
    if (requeued.numUpdatedRows === 0n) return { id, outcome: "not_failed", state: "changed" };
    await recordAuditEvent(trx, deps, { type: "outbox.retried", accountId: null, actor: "operator", detail });
    return { id, outcome: "requeued" };
  });
}
