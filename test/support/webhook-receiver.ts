import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/**
 * A shop's webhook receiver on loopback, as a shop would write one: it verifies each message with
 * the `standardwebhooks` library (signature, and a timestamp within five minutes) and keeps what
 * it got. It can be told to answer 503, to take a message and then answer 503 (an acknowledgement
 * lost on the way back), or to be down altogether (connection refused), and to come back on the
 * same port.
 */
export type ReceivedWebhook = {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The verified payload; undefined when verification failed (`error` says why). */
  payload: WebhookPayload | undefined;
  error: string | undefined;
};

export type WebhookPayload = { type: string; timestamp: string; data: Record<string, unknown> };

export type ReceiverMode = "ok" | "unavailable" | "accept_then_unavailable";

export type WebhookReceiver = {
  url: string;
  /** Every request, in arrival order, repeats included. */
  received: ReceivedWebhook[];
  mode: ReceiverMode;
  /** The secret(s) the receiver verifies with (set after the endpoint is added). */
  secrets: string[];
  /** Verified messages, one per webhook-id (the dedup a receiver does), in arrival order. */
  unique(): ReceivedWebhook[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function verify(secrets: readonly string[], body: string, headers: Record<string, string>) {
  let error = "no secret";
  for (const secret of secrets) {
    try {
      return { payload: new Webhook(secret).verify(body, headers) as WebhookPayload, error: undefined };
    } catch (problem) {
      error = (problem as Error).message;
    }
  }
  return { payload: undefined, error };
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let server: Server | undefined;
  let port = 0;
  const receiver: WebhookReceiver = {
    url: "",
    received: [],
    mode: "ok",
    secrets: [],
    unique() {
      const seen = new Set<string>();
      return receiver.received.filter((message) => {
        if (message.payload === undefined || seen.has(message.id)) return false;
        seen.add(message.id);
        return true;
      });
    },
    async down() {
      const running = server;
      server = undefined;
      if (!running) return;
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
    async up() {
      if (server) return;
      const next = createServer((request, response) => {
        void readBody(request).then((body) => {
          if (receiver.mode === "unavailable") {
            response.writeHead(503).end();
            return;
          }
          const headers = {
            "webhook-id": String(request.headers["webhook-id"] ?? ""),
            "webhook-timestamp": String(request.headers["webhook-timestamp"] ?? ""),
            "webhook-signature": String(request.headers["webhook-signature"] ?? ""),
          };
          const checked = verify(receiver.secrets, body, headers);
          receiver.received.push({
            id: headers["webhook-id"],
            timestamp: headers["webhook-timestamp"],
            signature: headers["webhook-signature"],
            body,
            ...checked,
          });
          response
            .writeHead(receiver.mode === "ok" && checked.payload ? 204 : checked.payload ? 503 : 400)
            .end();
        });
      });
      next.keepAliveTimeout = 1;
      await new Promise<void>((resolve) => next.listen(port, "127.0.0.1", () => resolve()));
      port = (next.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${port}/hooks/mamori`;
      server = next;
    },
    close: () => receiver.down(),
  };
  await receiver.up();
  return receiver;
}
