import type { Kysely } from "kysely";
import type { Brands } from "../config/brand-config.ts";
import type { Limits, Locale } from "../config/config.ts";
import type { SupportContact } from "../config/support-config.ts";
import { newId } from "../crypto/secrets.ts";
import type { Channel, Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";
import { type PhoneMessageTemplate, renderPhoneMessage } from "./phone-templates.ts";
import { type MessageTemplate, renderMessage } from "./templates.ts";

export type QueueDeps = {
  clock: Clock;
  random: Random;
  config: {
    devOutbox: boolean;
    limits: Pick<Limits, "emailCodeLifetimeSeconds" | "phoneCodeLifetimeSeconds">;
    /** The shop's support contact, at the end of every mail (MAMORI_SUPPORT_*). */
    support?: SupportContact;
    /** The shop's name in every subject, signature, text message and call (MAMORI_BRAND_*). */
    brands: Brands;
  };
};

type RenderedRow = {
  channel: Channel;
  recipient: string;
  template: string;
  locale: Locale;
  subject: string | null;
  text: string;
  html: string | null;
  code: string | undefined;
};

/**
 * When a code queued now stops working: email codes (registration, reset) live
 * `emailCodeLifetimeSeconds`, phone codes `phoneCodeLifetimeSeconds`, counted from the same instant
 * the flow counts them from (the code is issued and queued in one transaction).
 */
function codeExpiry(deps: QueueDeps, channel: Channel, nowText: string): string {
  const limits = deps.config.limits;
  const seconds = channel === "email" ? limits.emailCodeLifetimeSeconds : limits.phoneCodeLifetimeSeconds;
  return new Date(Date.parse(nowText) + seconds * 1000).toISOString();
}

/**
 * Puts one message in the outbox table, inside the caller's transaction when given one, so a
 * message exists exactly when the state change that wants it was committed.
 */
async function insertOutboxRow(db: Kysely<Schema>, deps: QueueDeps, row: RenderedRow): Promise<string> {
  const id = newId(deps.random, "msg");
  const now = deps.clock.now().toISOString();
  await db
    .insertInto("outbox_message")
    .values({
      id,
      channel: row.channel,
      recipient: row.recipient,
      template: row.template,
      locale: row.locale,
      subject: row.subject,
      text_body: row.text,
      html_body: row.html,
      // The code is kept apart only for the development outbox, which shows it.
      dev_code: deps.config.devOutbox && row.code ? row.code : null,
      code_expires_at: row.code ? codeExpiry(deps, row.channel, now) : null,
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

/** Queues an email (subject, plain text and HTML) in the person's language. */
export async function queueMessage(
  db: Kysely<Schema>,
  deps: QueueDeps,
  channel: Channel,
  recipient: string,
  locale: Locale,
  template: MessageTemplate,
): Promise<string> {
  const rendered = renderMessage(template, locale, deps.config.brands[locale], deps.config.support);
  return insertOutboxRow(db, deps, {
    channel,
    recipient,
    template: template.kind,
    locale,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    code: "code" in template ? template.code : undefined,
  });
}

/** Queues a text message or a voice call with a code to an E.164 phone number. */
export async function queuePhoneMessage(
  db: Kysely<Schema>,
  deps: QueueDeps,
  channel: "sms" | "voice",
  phone: string,
  locale: Locale,
  template: PhoneMessageTemplate,
): Promise<string> {
  return insertOutboxRow(db, deps, {
    channel,
    recipient: phone,
    template: `${template.kind}_${channel}`,
    locale,
    subject: null,
    text: renderPhoneMessage(template, locale, channel, deps.config.brands[locale]),
    html: null,
    code: "code" in template ? template.code : undefined,
  });
}
