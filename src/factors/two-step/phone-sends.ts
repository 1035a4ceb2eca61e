import type { Limits, Locale } from "../../config/config.ts";
import { queuePhoneMessage } from "../../courier/outbox.ts";
import type { Deps } from "../../deps.ts";
import { parsePhoneNumberFromString } from "../../identity/phone-numbers.ts";
import { countPhoneBudgetRefusal } from "../../operations/metrics.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { issueCode } from "../one-time-code/one-time-code.ts";

/**
 * Every SMS or voice call with a code goes through here: the per-number, per-account and per-IP
 * caps and the service's hourly budget are checked first (SMS pumping costs the shop money: an
 * attacker makes a form text premium numbers they are paid for), then the code is issued and the
 * message queued, in one transaction.
 */
export type PhoneSend = {
  flowId: string;
  purpose: "sign_in" | "phone_verification";
  channel: "sms" | "voice";
  phone: string;
  accountId: string;
  locale: Locale;
  ip: string | null;
};

export type PhoneSendResult =
  | { ok: true; expiresAt: Date }
  | { ok: false; reason: "cooldown" | "too_many_sends" | "budget"; retryAfterSeconds: number };

const hourSeconds = 3600;

/** A budget's key, by the name the metrics give it (`phone_send:number:…` is `number`). */
function budgetName(key: string): string {
  return key.split(":")[1] ?? key;
}

function budgetRules(limits: Limits, send: PhoneSend): [string, number][] {
  const country = parsePhoneNumberFromString(send.phone)?.country ?? "unknown";
  return [
    [`phone_send:number:${send.phone}`, limits.phoneSendsPerNumberPerHour],
    [`phone_send:account:${send.accountId}`, limits.phoneSendsPerAccountPerHour],
    [`phone_send:ip:${ipThrottleSubject(send.ip)}`, limits.phoneSendsPerIpPerHour],
    ...(country === "JP"
      ? []
      : ([[`phone_send:country:${country}`, limits.phoneSendsPerForeignCountryPerHour]] as [
          string,
          number,
        ][])),
    ["phone_send:global", limits.phoneSendsGlobalPerHour],
  ];
}

export async function sendPhoneCode(deps: Deps, send: PhoneSend): Promise<PhoneSendResult> {
  const limits = deps.config.limits;
  const now = deps.clock.now();
  for (const [key, limit] of budgetRules(limits, send)) {
    const verdict = await deps.throttle.hit(key, { limit, windowSeconds: hourSeconds }, now);
    if (!verdict.allowed) {
      countPhoneBudgetRefusal(budgetName(key));
      if (key === "phone_send:global") {
        // The operator must hear of this at once: either a real surge or an attack in progress.
        deps.log.error({ alert: "phone_budget_exhausted", limit }, "the hourly SMS/voice budget is used up");
      }
      return { ok: false, reason: "budget", retryAfterSeconds: verdict.retryAfterSeconds };
    }
  }
  // The code and its message are written together: a code exists exactly when its message does.
  return deps.db.transaction().execute(async (trx): Promise<PhoneSendResult> => {
    const issued = await issueCode(
      trx,
      { clock: deps.clock, random: deps.random, secretKey: deps.config.signingKey },
      { flowId: send.flowId, purpose: send.purpose, channel: send.channel, destination: send.phone },
      {
        lifetimeSeconds: limits.phoneCodeLifetimeSeconds,
        maxAttempts: limits.codeMaxAttempts,
        resendCooldownSeconds: limits.codeResendCooldownSeconds,
        maxSends: limits.codeMaxSends,
      },
    );
    if (!issued.ok) {
      return {
        ok: false,
        reason: issued.reason,
        retryAfterSeconds:
          issued.reason === "cooldown" ? issued.retryAfterSeconds : limits.phoneCodeLifetimeSeconds,
      };
    }
    await queuePhoneMessage(trx, deps, send.channel, send.phone, send.locale, {
      kind: "phone_code",
      code: issued.code,
      lifetimeMinutes: Math.ceil(limits.phoneCodeLifetimeSeconds / 60),
    });
    return { ok: true, expiresAt: issued.expiresAt };
  });
}
