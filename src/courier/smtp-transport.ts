import type { Transporter } from "nodemailer";
import type { OutboundMessage, Transport } from "./courier.ts";

/** Email through an SMTP server (SMTP_URL, e.g. `smtps://user:pass@mail.example.jp:465`). */
export function createSmtpTransport(
  smtpUrl: string,
  from: string,
  messageIdDomain: string,
): Transport & { close(): void } {
  // nodemailer is loaded for the first mail, not at start.
  let transporter: Promise<Transporter> | undefined;
  const connect = (): Promise<Transporter> => {
    transporter ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport(smtpUrl),
    );
    return transporter;
  };
  return {
    name: "smtp",
    async send(message: OutboundMessage): Promise<void> {
      await (await connect()).sendMail({
        from,
        to: message.recipient,
        subject: message.subject ?? "",
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
        // The outbox id as Message-ID: a retry after a crash carries the same id, so receivers can dedupe.
        messageId: `<${message.id}@${messageIdDomain}>`,
      });
    },
    close: () => {
      void transporter?.then((connected) => connected.close());
    },
  };
}
