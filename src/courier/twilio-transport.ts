import type { Locale } from "../config/config.ts";
import type { OutboundMessage, Transport } from "./courier.ts";

/** How Mamori reaches Twilio's REST API; `config.twilio` has this shape. */
export type TwilioTransportOptions = {
  accountSid: string;
  /** HTTP Basic credentials: the account SID and its auth token, or an API key SID and its secret. */
  auth: { username: string; password: string };
  /** Texts come from one number, or from a Messaging Service that picks a number from its pool. */
  sms: { from: string } | { messagingServiceSid: string };
  /** Calls need a number of their own: a Messaging Service sends texts only. */
  voiceFrom: string;
  /** `https://api.twilio.com` unless a test points it at a loopback server. */
  baseUrl?: string;
  /** Per request, including reading the answer. */
  requestTimeoutMs?: number;
};

const defaultBaseUrl = "https://api.twilio.com";

// Twilio normally answers in well under a second. Ten seconds lets a slow answer through while a
// hung connection still gives up long before the outbox lease (60 s by default) runs out, so the
// message is not claimed by a second worker while this one is still waiting.
const defaultRequestTimeoutMs = 10_000;

// The voice a call speaks in. Twilio picks the voice for the language from the account's
// text-to-speech settings, so an operator can change it in the Console without a release.
const sayLanguage: Record<Locale, string> = { ja: "ja-JP", en: "en-US" };

/** Twilio's answer to a request it did not accept, kept apart so the dispatcher's log says why. */
export class TwilioRequestError extends Error {
  /** The HTTP status, or undefined when no answer came (timeout, refused connection). */
  readonly status: number | undefined;
  /** Twilio's error code, e.g. 21211 (invalid "To" number) or 21610 (recipient replied STOP). */
  readonly twilioCode: number | undefined;
  /**
   * False when sending the same request again cannot succeed (an invalid or unsubscribed number,
   * bad credentials). The dispatcher still retries every failure until its attempts run out; this
   * is here for the log and for a dispatcher that learns to give up early.
   */
  readonly retryable: boolean;
  constructor(message: string, details: { status?: number; twilioCode?: number; retryable: boolean }) {
    super(message);
    this.name = "TwilioRequestError";
    this.status = details.status;
    this.twilioCode = details.twilioCode;
    this.retryable = details.retryable;
  }
}

/** Escapes text for an XML element or attribute, so a message can never add TwiML of its own. */
export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

/** The TwiML of a code call: the script read once, in the message's language. */
export function voiceTwiml(text: string, locale: Locale): string {
  return `<Response><Say language="${sayLanguage[locale]}">${escapeXml(text)}</Say></Response>`;
}

/** SMS and voice through Twilio's REST API (2010-04-01), with Node's fetch and no SDK. */
export function createTwilioTransports(options: TwilioTransportOptions): {
  sms: Transport;
  voice: Transport;
} {
  const baseUrl = (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, "");
  const accountUrl = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}`;
  const credentials = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString("base64");
  const timeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  // Whatever text ends up in an error (and from there in the log and the outbox row's last_error)
  // passes through this, in case a proxy or a future Twilio answer echoes the request's credentials.
  const scrub = (text: string): string =>
    text.replaceAll(options.auth.password, "[redacted]").replaceAll(credentials, "[redacted]");

  async function post(
    what: string,
    resource: "Messages" | "Calls",
    message: OutboundMessage,
    form: URLSearchParams,
  ): Promise<void> {
    let status: number;
    let body: string;
    try {
      const response = await fetch(`${accountUrl}/${resource}.json`, {
        method: "POST",
        headers: {
          authorization: `Basic ${credentials}`,
          accept: "application/json",
          // The outbox id: a retry after a crash or a lost answer carries the same token, so
          // Twilio can recognise it as the same request instead of sending the code twice.
          "i-twilio-idempotency-token": message.id,
        },
        // URLSearchParams makes fetch send application/x-www-form-urlencoded;charset=UTF-8, which
        // Twilio needs to read Japanese text as UTF-8.
        body: form,
        // Twilio's API does not redirect; following one would hand the code to another address.
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      // Read inside the timeout too: a server that sends headers and then stalls must not hang the send.
      body = await response.text();
    } catch (error) {
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new TwilioRequestError(`Twilio ${what} for ${message.id}: no answer within ${timeoutMs} ms`, {
          retryable: true,
        });
      }
      throw new TwilioRequestError(
        scrub(`Twilio ${what} for ${message.id}: request failed (${describeNetworkError(error)})`),
        { retryable: true },
      );
    }
    if (status >= 200 && status < 300) return;
    throw refusal(what, message.id, status, body, scrub);
  }

  const sms: Transport = {
    name: "twilio-sms",
    send: (message) => {
      const form = new URLSearchParams({ To: message.recipient, Body: message.text });
      if ("messagingServiceSid" in options.sms)
        form.set("MessagingServiceSid", options.sms.messagingServiceSid);
      else form.set("From", options.sms.from);
      return post("SMS", "Messages", message, form);
    },
  };
  const voice: Transport = {
    name: "twilio-voice",
    send: (message) => {
      // Rows queued before messages carried a locale are read in Japanese, the shops' language.
      const twiml = voiceTwiml(message.text, message.locale ?? "ja");
      const form = new URLSearchParams({ To: message.recipient, From: options.voiceFrom, Twiml: twiml });
      return post("voice call", "Calls", message, form);
    },
  };
  return { sms, voice };
}

/** Twilio answers errors as `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`. */
function refusal(
  what: string,
  messageId: string,
  status: number,
  body: string,
  scrub: (text: string) => string,
): TwilioRequestError {
  const answer = parseTwilioError(body);
  // 4xx means Twilio understood and refused; a retry only helps when the refusal was about timing.
  const retryable = status >= 500 || status === 408 || status === 409 || status === 429;
  const reason =
    answer.code !== undefined
      ? `Twilio error ${answer.code}: ${answer.message ?? "no message"}`
      : `no Twilio error code; answer began ${JSON.stringify(body.slice(0, 120))}`;
  const text = `Twilio ${what} for ${messageId} refused with HTTP ${status} (${reason})${retryable ? "" : "; a retry will not help"}`;
  return new TwilioRequestError(scrub(text.slice(0, 480)), { status, twilioCode: answer.code, retryable });
}

function parseTwilioError(body: string): { code: number | undefined; message: string | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { code: undefined, message: undefined };
  }
  if (typeof parsed !== "object" || parsed === null) return { code: undefined, message: undefined };
  const code = "code" in parsed && typeof parsed.code === "number" ? parsed.code : undefined;
  const message = "message" in parsed && typeof parsed.message === "string" ? parsed.message : undefined;
  return { code, message };
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a TLS error) is in its cause. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
