import nodemailer from "nodemailer";
import type { OutboundMessage, Transport } from "./courier.ts";

/** Email through an SMTP server (SMTP_URL, e.g. `smtps://user:pass@mail.example.jp:465`). */
export function createSmtpTransport(
  smtpUrl: string,
  from: string,
  messageIdDomain: string,
): Transport & { close(): void } {
  const transporter = nodemailer.createTransport(smtpUrl);
  return {
    name: "smtp",
    async send(message: OutboundMessage): Promise<void> {
      await transporter.sendMail({
        from,
        to: message.recipient,
        subject: message.subject ?? "",
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        // The outbox id as Message-ID: a retry after a crash carries the same id, so receivers can dedupe.
        messageId: `<${message.id}@${messageIdDomain}>`,
      });
    },
    close: () => transporter.close(),
  };
}
