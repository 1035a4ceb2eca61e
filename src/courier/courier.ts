import type { Locale } from "../config/config.ts";
import type { Channel } from "../db/schema.ts";

/** A message as a transport sends it. `id` doubles as the idempotency key for providers that take one. */
export type OutboundMessage = {
  id: string;
  channel: Channel;
  recipient: string;
  subject: string | null;
  text: string;
  html: string | null;
  /** The recipient's language, for transports that need it beside the text (a voice call's speech). */
  locale?: Locale;
};

/** Delivers one message or throws; the dispatcher retries with backoff. */
export type Transport = {
  name: string;
  send(message: OutboundMessage): Promise<void>;
};

/** Delivery, passed in through `deps.courier`: one transport per channel and a way to wake the dispatcher. */
export type Courier = {
  transports: Record<Channel, Transport>;
  /** Called after a message is queued, so a dispatcher in this process sends it without waiting to poll. */
  wake(): void;
  setWaker(waker: () => void): void;
};

export function createCourier(transports: Record<Channel, Transport>): Courier {
  let waker: () => void = () => {};
  return {
    transports,
    wake: () => waker(),
    setWaker: (next) => {
      waker = next;
    },
  };
}

/**
 * The development outbox: the message stays in the outbox table, where `/dev/outbox` and
 * `GET /api/v1/dev/outbox` show it. Never configured in production (config refuses it).
 */
export const devOutboxTransport: Transport = {
  name: "dev-outbox",
  send: async () => {},
};

/** A transport for a channel nobody has configured: every send fails and is retried, then marked failed. */
export function unconfiguredTransport(channel: Channel): Transport {
  return {
    name: `unconfigured-${channel}`,
    send: async () => {
      throw new Error(`no ${channel} provider is configured`);
    },
  };
}
