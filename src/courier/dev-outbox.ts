import type { Kysely } from "kysely";
import type { Channel, Schema } from "../db/schema.ts";
import { normalizeEmail, normalizePhone } from "../identity/identifiers.ts";

export type DevOutboxMessage = {
  channel: Channel;
  to: string;
  subject?: string;
  text: string;
  code?: string;
  createdAt: string;
};

/**
 * Messages in the development outbox, newest first: all of them, or those to one address or phone
 * (a phone in any form the API accepts, matched in E.164).
 */
export async function listDevOutbox(
  db: Kysely<Schema>,
  to: string | undefined,
  limit = 100,
): Promise<DevOutboxMessage[]> {
  let query = db
    .selectFrom("outbox_message")
    .selectAll()
    // Shops' logout tokens are no one's message to read.
    .where("channel", "!=", "oidc_logout")
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit);
  if (to) {
    const recipient = to.includes("@") ? (normalizeEmail(to) ?? to) : (normalizePhone(to) ?? to);
    query = query.where("recipient", "=", recipient);
  }
  const rows = await query.execute();
  return rows.flatMap((row) =>
    row.channel === "oidc_logout"
      ? []
      : [
          {
            channel: row.channel,
            to: row.recipient,
            ...(row.subject ? { subject: row.subject } : {}),
            text: row.text_body,
            ...(row.dev_code ? { code: row.dev_code } : {}),
            createdAt: row.created_at,
          },
        ],
  );
}
