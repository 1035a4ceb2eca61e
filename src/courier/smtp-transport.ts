import type { Transporter } from "nodemailer";
import type { OutboundMessage, Transport } from "./courier.ts";

/** The Message-ID of an outbox message: derived from its id alone, so every re-send carries the same one. */
export function messageIdFor(outboxId: string, domain: string): string {
  return `<${outboxId}@${domain}>`;
}

/**
 * Email through an SMTP server (SMTP_URL, e.g. `smtps://user:pass@mail.example.jp:465`).
 * Every send ends within `timeoutSeconds`: connecting, the greeting, each reply, and the whole
 * send. The outbox lease is longer (config refuses otherwise), so a slow server's mail is never
 * claimed by another process while this one is still sending it.
 */
export function createSmtpTransport(
  smtpUrl: string,
  from: string,
  messageIdDomain: string,
  timeoutSeconds: number,
): Transport & { close(): void } {
  const timeoutMs = timeoutSeconds * 1000;
  // nodemailer is loaded for the first mail, not at start.
  let transporter: Promise<Transporter> | undefined;
  const connect = (): Promise<Transporter> => {
    transporter ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        url: smtpUrl,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        dnsTimeout: timeoutMs,
      }),
    );
    return transporter;
  };
  return {
    name: "smtp",
    async send(message: OutboundMessage): Promise<void> {
      const sending = (await connect()).sendMail({
        from,
        to: message.recipient,
        subject: message.subject ?? "",
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        // The outbox id as Message-ID: a retry after a crash carries the same id, so receivers can dedupe.
        messageId: messageIdFor(message.id, messageIdDomain),
      });
      // A server that trickles its replies resets the socket timeout each time: the whole send is
      // bounded too. A send given up on here is retried (at-least-once, the same Message-ID).
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`SMTP send took over ${timeoutSeconds} s`)), timeoutMs);
      });
      sending.catch(() => {}); // its failure after the deadline is already reported
      try {
        await Promise.race([sending, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => {
      void transporter?.then((connected) => connected.close());
    },
  };
}
