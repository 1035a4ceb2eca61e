import type { Kysely } from "kysely";
import type { Locale } from "../config/config.ts";
import { newId } from "../crypto/secrets.ts";
import type { Channel, Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";
import { type MessageTemplate, renderMessage } from "./templates.ts";

export type QueueDeps = { clock: Clock; random: Random; config: { devOutbox: boolean } };

/**
 * Queues a message in the outbox table, inside the caller's transaction when given one, so a
 * message exists exactly when the state change that wants it was committed.
 */
export async function queueMessage(
  db: Kysely<Schema>,
  deps: QueueDeps,
  channel: Channel,
  recipient: string,
  locale: Locale,
  template: MessageTemplate,
): Promise<string> {
  const rendered = renderMessage(template, locale);
  const id = newId(deps.random, "msg");
  const now = deps.clock.now().toISOString();
  await db
    .insertInto("outbox_message")
    .values({
      id,
      channel,
      recipient,
      template: template.kind,
      locale,
      subject: rendered.subject,
      text_body: rendered.text,
      html_body: rendered.html,
      dev_code: deps.config.devOutbox && "code" in template ? template.code : null,
      state: "pending",
      attempts: 0,
      next_attempt_at: now,
      lease_expires_at: null,
      leased_by: null,
      last_error: null,
      created_at: now,
      sent_at: null,
    })
    .execute();
  return id;
}
