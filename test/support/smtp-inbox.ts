import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/**
 * A real SMTP server on a loopback port that keeps every mail it receives, parsed: a Mamori server
 * started with SMTP_URL pointing here delivers to it exactly as it would to a shop's mail server,
 * and a test reads the security code out of the mail as the person would. Waits are bounded.
 */
export type SmtpInbox = {
  /** smtp://127.0.0.1:PORT, for SMTP_URL. */
  url: string;
  port: number;
  /** Mails to an address (optionally with this subject), oldest first. */
  mailsTo(address: string, subject?: string): ParsedMail[];
  /** The `index`-th mail (0 = the first) to an address with a subject, waiting for it to arrive. */
  waitForMail(address: string, subject: string, index: number, timeoutMs?: number): Promise<ParsedMail>;
  close(): Promise<void>;
};

function recipients(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((group) => group.value.map((a) => (a.address ?? "").toLowerCase()));
}

export type SmtpInboxOptions = {
  /** Listen on this port (a mail server coming back where it was); default a free one. */
  port?: number;
  /**
   * Keep each mail, then wait this long before saying so: a slow server whose client gives up
   * while the mail has in fact arrived.
   */
  replyDelayMs?: number;
};

export async function startSmtpInbox(options: SmtpInboxOptions = {}): Promise<SmtpInbox> {
  const received: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no STARTTLS offered, so the client does not try to upgrade.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          received.push(parsed);
          if (options.replyDelayMs) setTimeout(() => callback(), options.replyDelayMs);
          else callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  const mailsTo = (address: string, subject?: string): ParsedMail[] =>
    received.filter(
      (mail) =>
        recipients(mail).includes(address.toLowerCase()) &&
        (subject === undefined || mail.subject === subject),
    );

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mailsTo,
    async waitForMail(address, subject, index, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = mailsTo(address, subject)[index];
        if (mail) return mail;
        if (Date.now() > deadline) {
          const seen = received.map((m) => `${recipients(m).join(",")}: ${m.subject ?? ""}`);
          throw new Error(
            `no mail #${index + 1} "${subject}" to ${address} in ${timeoutMs} ms; got: ${seen.join("; ")}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The 6-digit security code in a mail's text ("セキュリティコード: 123456" / "Security code: 123456"). */
export function codeInMail(mail: ParsedMail): string {
  const code = /(?:セキュリティコード|Security code): (\d{6})\s*$/m.exec(mail.text ?? "")?.[1];
  if (!code) throw new Error(`no security code in the mail "${mail.subject ?? ""}":\n${mail.text ?? ""}`);
  return code;
}
