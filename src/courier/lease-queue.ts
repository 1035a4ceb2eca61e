import type { Kysely, Selectable } from "kysely";
import { dialectOf } from "../db/database.ts";
import type { Schema } from "../db/schema.ts";

/**
 * The lease and backoff every delivery queue shares: the outbox (mail, SMS, calls) and webhook
 * deliveries. A row is `pending` until due, `sending` while one process holds its lease, then
 * `sent`, or `pending` again with a later `next_attempt_at`, or `failed` after its last attempt.
 */
export type QueueTable = "outbox_message" | "webhook_delivery";

/** The columns every queue table has; what this file reads and writes. */
type LeaseColumns = {
  id: string;
  state: string;
  attempts: number;
  next_attempt_at: string;
  lease_expires_at: string | null;
  leased_by: string | null;
  last_error: string | null;
  sent_at: string | null;
};

const maxBackoffSeconds = 3600;

/** Seconds to wait before retry number `attempts` (1-based): 5, 10, 20, … capped at an hour. */
export function backoffSeconds(attempts: number): number {
  return Math.min(maxBackoffSeconds, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * The queue table seen through its lease columns only. Kysely knows tables by name in its type;
 * both queue tables have these columns, and the SQL is the table's own name.
 */
function leaseView(db: Kysely<Schema>): Kysely<{ queue: LeaseColumns }> {
  return db as unknown as Kysely<{ queue: LeaseColumns }>;
}

/**
 * Claims due rows with a lease: pending ones whose time has come, and ones whose sender's lease
 * ran out (the process died mid-send). On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several
 * processes claim side by side without waiting for or double-claiming each other's rows.
 */
export async function claimDue<T extends QueueTable>(
  db: Kysely<Schema>,
  table: T,
  options: { workerId: string; now: Date; leaseSeconds: number; batchSize: number },
): Promise<Selectable<Schema[T]>[]> {
  const view = leaseView(db);
  const queue = table as unknown as "queue";
  const nowText = options.now.toISOString();
  const leaseEnd = new Date(options.now.getTime() + options.leaseSeconds * 1000).toISOString();
  let due = view
    .selectFrom(queue)
    .select("id")
    .where((eb) =>
      eb.or([
        eb.and([eb("state", "=", "pending"), eb("next_attempt_at", "<=", nowText)]),
        eb.and([eb("state", "=", "sending"), eb("lease_expires_at", "<=", nowText)]),
      ]),
    )
    .orderBy("next_attempt_at")
    .limit(options.batchSize);
  if (dialectOf(db) === "postgres") due = due.forUpdate().skipLocked();
  const rows = await view
    .updateTable(queue)
    .set((eb) => ({
      state: "sending",
      leased_by: options.workerId,
      lease_expires_at: leaseEnd,
      attempts: eb("attempts", "+", 1),
    }))
    .where("id", "in", due)
    .returningAll()
    .execute();
  // returningAll returns every column of the real table, of which LeaseColumns is a part.
  return rows as unknown as Selectable<Schema[T]>[];
}

/**
 * After a failed attempt: pending again after the backoff, or failed for good after the last
 * attempt. Only the lease holder's write counts (a lease taken over by another process wins).
 * Returns true when the row failed for good.
 */
export async function releaseAfterFailure(
  db: Kysely<Schema>,
  table: QueueTable,
  row: { id: string; attempts: number },
  options: {
    workerId: string;
    now: Date;
    maxAttempts: number;
    error: string;
    extra?: Record<string, unknown>;
  },
): Promise<boolean> {
  const failedForGood = row.attempts >= options.maxAttempts;
  const next = new Date(options.now.getTime() + backoffSeconds(row.attempts) * 1000);
  await leaseView(db)
    .updateTable(table as unknown as "queue")
    .set({
      ...(options.extra ?? {}),
      state: failedForGood ? "failed" : "pending",
      next_attempt_at: next.toISOString(),
      lease_expires_at: null,
      leased_by: null,
      last_error: options.error.slice(0, 500),
    })
    .where("id", "=", row.id)
    .where("leased_by", "=", options.workerId)
    .execute();
  return failedForGood;
}

/** After a delivered attempt: sent, with `extra` columns (the outbox clears the body here). */
export async function markSent(
  db: Kysely<Schema>,
  table: QueueTable,
  id: string,
  options: { workerId: string; now: Date; extra?: Record<string, unknown> },
): Promise<void> {
  await leaseView(db)
    .updateTable(table as unknown as "queue")
    .set({
      ...(options.extra ?? {}),
      state: "sent",
      sent_at: options.now.toISOString(),
      lease_expires_at: null,
      last_error: null,
    })
    .where("id", "=", id)
    .where("leased_by", "=", options.workerId)
    .execute();
}
