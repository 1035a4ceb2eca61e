import type { Kysely } from "kysely";
import { constantTimeEqual, hmacHex, newId, newNumericCode } from "../../crypto/secrets.ts";
import type { CodePurpose, Schema } from "../../db/schema.ts";
import type { Clock, Random } from "../../deps.ts";

/**
 * The one-time code factor: 6 digits from a CSPRNG, sent by email, SMS or voice, stored only as an
 * HMAC, single use, with a lifetime, an attempt cap, a resend cooldown and a cap on sends.
 * Flows (registration, password reset, phone verification, sign-in) own a code through `flowId`.
 */
export type CodeDeps = { clock: Clock; random: Random; secretKey: Buffer };

export type CodeRules = {
  lifetimeSeconds: number;
  maxAttempts: number;
  resendCooldownSeconds: number;
  maxSends: number;
};

export type IssueTarget = {
  flowId: string;
  purpose: CodePurpose;
  channel: "email" | "sms" | "voice";
  destination: string;
  /** A decoy flow (an identifier with no account) gets a row with no code: every try fails the same way. */
  decoy?: boolean;
};

export type IssueResult =
  | { ok: true; code: string; expiresAt: Date }
  | { ok: false; reason: "cooldown"; retryAfterSeconds: number }
  | { ok: false; reason: "too_many_sends" };

export type VerifyResult =
  | { ok: true }
  | { ok: false; reason: "incorrect"; attemptsLeft: number }
  | { ok: false; reason: "expired" | "exhausted" | "missing" };

function codeHash(key: Buffer, flowId: string, code: string): string {
  return hmacHex(key, "one-time-code", flowId, code);
}

/**
 * Issues a new code for a flow, voiding the flow's previous one. The first send is always allowed;
 * a resend waits for the cooldown, counts against the flow's cap and keeps the tries already used.
 */
export async function issueCode(
  db: Kysely<Schema>,
  deps: CodeDeps,
  target: IssueTarget,
  rules: CodeRules,
): Promise<IssueResult> {
  const now = deps.clock.now();
  // The tries belong to the flow, not to one code: a resend carries them over, so asking for a new
  // code never buys more guesses (5 tries while a code lives, however many codes are sent).
  let triesSoFar = 0;
  const previous = await db
    .selectFrom("verification_code")
    .select(["id", "sends", "last_sent_at", "attempts", "expires_at"])
    .where("flow_id", "=", target.flowId)
    .where("consumed_at", "is", null)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
  if (previous) {
    const readyAt = Date.parse(previous.last_sent_at) + rules.resendCooldownSeconds * 1000;
    if (readyAt > now.getTime()) {
      return {
        ok: false,
        reason: "cooldown",
        retryAfterSeconds: Math.ceil((readyAt - now.getTime()) / 1000),
      };
    }
    if (previous.sends >= rules.maxSends) return { ok: false, reason: "too_many_sends" };
    // Void the old code: a resend must not leave two live codes. Its tries come back as they
    // stand once voided (a guess racing the resend either counted before or finds no code).
    const voided = await db
      .updateTable("verification_code")
      .set({ consumed_at: now.toISOString() })
      .where("flow_id", "=", target.flowId)
      .where("consumed_at", "is", null)
      .returning("attempts")
      .execute();
    // An expired code's tries are over with it: at most `maxAttempts` guesses per code lifetime.
    if (previous.expires_at > now.toISOString())
      triesSoFar = Math.max(previous.attempts, ...voided.map((row) => row.attempts));
  }
  const code = newNumericCode(deps.random, 6);
  const expiresAt = new Date(now.getTime() + rules.lifetimeSeconds * 1000);
  await db
    .insertInto("verification_code")
    .values({
      id: newId(deps.random, "otc"),
      flow_id: target.flowId,
      purpose: target.purpose,
      channel: target.channel,
      destination: target.destination,
      code_hash: target.decoy ? null : codeHash(deps.secretKey, target.flowId, code),
      attempts: triesSoFar,
      sends: (previous?.sends ?? 0) + 1,
      last_sent_at: now.toISOString(),
      expires_at: expiresAt.toISOString(),
      consumed_at: null,
      created_at: now.toISOString(),
    })
    .execute();
  return { ok: true, code, expiresAt };
}

/**
 * Checks a code. Every try, right or wrong, first claims one attempt in a guarded statement, so
 * parallel guesses cannot exceed the cap: after `maxAttempts` tries even the right code fails.
 */
export async function verifyCode(
  db: Kysely<Schema>,
  deps: CodeDeps,
  flowId: string,
  code: string,
  rules: Pick<CodeRules, "maxAttempts">,
): Promise<VerifyResult> {
  const now = deps.clock.now();
  const row = await db
    .selectFrom("verification_code")
    .select(["id", "code_hash", "attempts", "expires_at"])
    .where("flow_id", "=", flowId)
    .where("consumed_at", "is", null)
    .orderBy("created_at", "desc")
    .executeTakeFirst();
  if (!row) return { ok: false, reason: "missing" };
  if (row.attempts >= rules.maxAttempts) return { ok: false, reason: "exhausted" };
  if (row.expires_at <= now.toISOString()) return { ok: false, reason: "expired" };

  const claimed = await db
    .updateTable("verification_code")
    .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
    .where("id", "=", row.id)
    .where("consumed_at", "is", null)
    .where("attempts", "<", rules.maxAttempts)
    .returning("attempts")
    .executeTakeFirst();
  if (!claimed) return { ok: false, reason: "exhausted" };

  const expected = row.code_hash ?? codeHash(deps.secretKey, flowId, "decoy");
  const normalized = code.normalize("NFKC").replace(/[\s-]/g, "");
  const matches =
    constantTimeEqual(codeHash(deps.secretKey, flowId, normalized), expected) && row.code_hash !== null;
  if (!matches)
    return {
      ok: false,
      reason: "incorrect",
      attemptsLeft: Math.max(0, rules.maxAttempts - claimed.attempts),
    };

  const consumed = await db
    .updateTable("verification_code")
    .set({ consumed_at: now.toISOString() })
    .where("id", "=", row.id)
    .where("consumed_at", "is", null)
    .executeTakeFirst();
  // Two tabs with the same right code: only one consumes it.
  if (consumed.numUpdatedRows === 0n) return { ok: false, reason: "missing" };
  return { ok: true };
}
