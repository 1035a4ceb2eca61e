import type { ConfigSource } from "./config.ts";

/** Twilio for SMS and voice codes; the shape `createTwilioTransports` takes. */
export type TwilioConfig = {
  accountSid: string;
  /** HTTP Basic credentials: the account SID and auth token, or an API key SID and its secret. */
  auth: { username: string; password: string };
  sms: { from: string } | { messagingServiceSid: string };
  voiceFrom: string;
  baseUrl: string;
};

const twilioVariables = [
  "TWILIO_ACCOUNT_SID",
  "TWILIO_AUTH_TOKEN",
  "TWILIO_API_KEY_SID",
  "TWILIO_API_KEY_SECRET",
  "TWILIO_FROM",
  "TWILIO_MESSAGING_SERVICE_SID",
  "TWILIO_VOICE_FROM",
  "TWILIO_BASE_URL",
] as const;

// Twilio SIDs are a two-letter kind and 32 hexadecimal digits; checking the kind catches a pasted
// auth token or a Messaging Service SID in the wrong variable before the first code fails to send.
const accountSidPattern = /^AC[0-9a-fA-F]{32}$/;
const apiKeySidPattern = /^SK[0-9a-fA-F]{32}$/;
const messagingServiceSidPattern = /^MG[0-9a-fA-F]{32}$/;
// E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
const e164Pattern = /^\+[1-9]\d{6,14}$/;

/**
 * Reads the TWILIO_* variables: none set means no phone provider (undefined); any set means all
 * that Twilio needs must be set, because a half-configured provider would only show up as codes
 * that never arrive. Values of secrets never appear in the problems listed.
 */
export function parseTwilioConfig(
  source: ConfigSource,
  production: boolean,
  problems: string[],
): TwilioConfig | undefined {
  const read = (name: (typeof twilioVariables)[number]): string | undefined =>
    source[name]?.trim() || undefined;
  const present = twilioVariables.filter((name) => read(name) !== undefined);
  if (present.length === 0) return undefined;
  const problemsBefore = problems.length;
  const because = `(Twilio is configured partly: ${present.join(", ")} set)`;

  const accountSid = read("TWILIO_ACCOUNT_SID");
  if (!accountSid) problems.push(`TWILIO_ACCOUNT_SID is required ${because}`);
  else if (!accountSidPattern.test(accountSid)) {
    problems.push(
      "TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal digits (Twilio Console, Account Info)",
    );
  }

  const auth = parseCredentials(read, accountSid, because, problems);

  const from = read("TWILIO_FROM");
  const messagingServiceSid = read("TWILIO_MESSAGING_SERVICE_SID");
  const ownVoiceFrom = read("TWILIO_VOICE_FROM");
  const voiceFrom = ownVoiceFrom ?? from;
  for (const [name, number] of [
    ["TWILIO_FROM", from],
    ["TWILIO_VOICE_FROM", ownVoiceFrom],
  ] as const) {
    if (number && !e164Pattern.test(number)) {
      problems.push(`${name} must be an E.164 number like +815012345678 (got ${number})`);
    }
  }
  if (messagingServiceSid && !messagingServiceSidPattern.test(messagingServiceSid)) {
    problems.push("TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hexadecimal digits");
  }
  // A Messaging Service sends texts and picks the number itself; TWILIO_FROM then serves calls.
  const sms = messagingServiceSid ? { messagingServiceSid } : from ? { from } : undefined;
  if (!sms) problems.push(`TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required to send SMS ${because}`);
  if (!voiceFrom) {
    problems.push(
      `TWILIO_VOICE_FROM (or TWILIO_FROM) is required: voice codes need a number to call from, and a Messaging Service sends texts only ${because}`,
    );
  }

  const baseUrl = parseBaseUrl(read("TWILIO_BASE_URL"), production, problems);

  if (problems.length > problemsBefore || !accountSid || !auth || !sms || !voiceFrom || !baseUrl)
    return undefined;
  return { accountSid, auth, sms, voiceFrom, baseUrl };
}

function parseCredentials(
  read: (name: (typeof twilioVariables)[number]) => string | undefined,
  accountSid: string | undefined,
  because: string,
  problems: string[],
): TwilioConfig["auth"] | undefined {
  const authToken = read("TWILIO_AUTH_TOKEN");
  const keySid = read("TWILIO_API_KEY_SID");
  const keySecret = read("TWILIO_API_KEY_SECRET");
  if (authToken && (keySid || keySecret)) {
    // Two sets of credentials leave it unclear which one a revocation should cover.
    problems.push("set TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID with TWILIO_API_KEY_SECRET, not both");
    return undefined;
  }
  if (authToken) return accountSid ? { username: accountSid, password: authToken } : undefined;
  if (keySid && keySecret) {
    if (apiKeySidPattern.test(keySid)) return { username: keySid, password: keySecret };
    problems.push("TWILIO_API_KEY_SID must be SK followed by 32 hexadecimal digits");
    return undefined;
  }
  if (keySid || keySecret) {
    problems.push(
      `TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together: one of them is missing ${because}`,
    );
  } else {
    problems.push(
      `Twilio credentials are required: TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET ${because}`,
    );
  }
  return undefined;
}

function parseBaseUrl(
  value: string | undefined,
  production: boolean,
  problems: string[],
): string | undefined {
  if (!value) return "https://api.twilio.com";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`TWILIO_BASE_URL is not a URL: ${value}`);
    return undefined;
  }
  // The credentials and every code travel in these requests: plain HTTP is for loopback tests only.
  if (production && url.protocol !== "https:") {
    problems.push(
      "TWILIO_BASE_URL must be https:// in production: credentials and codes travel in each request",
    );
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    problems.push(`TWILIO_BASE_URL must be an http(s) URL (got ${url.protocol})`);
    return undefined;
  }
  return url.href.replace(/\/+$/, "");
}
