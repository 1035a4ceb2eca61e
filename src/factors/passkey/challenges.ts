import type { Kysely, Selectable } from "kysely";
import { newId } from "../../crypto/secrets.ts";
import type { PasskeyChallengePurpose, PasskeyChallengeTable, Schema } from "../../db/schema.ts";
import type { Clock, Random } from "../../deps.ts";

export type PasskeyChallengeRow = Selectable<PasskeyChallengeTable>;

// Five minutes to touch a security key or unlock a phone; the browser's own timeout is the same.
export const passkeyChallengeLifetimeSeconds = 300;

/** 32 random bytes (256 bits; WebAuthn asks for at least 16), base64url as the browser echoes it. */
export async function createPasskeyChallenge(
  db: Kysely<Schema>,
  deps: { clock: Clock; random: Random },
  input: {
    purpose: PasskeyChallengePurpose;
    accountId: string | null;
    signInFlowId: string | null;
    /** The session a reauthentication belongs to: no other session may spend its challenge. */
    sessionId?: string | null;
  },
): Promise<PasskeyChallengeRow> {
  const now = deps.clock.now();
  const row: PasskeyChallengeRow = {
    id: newId(deps.random, "pkc"),
    purpose: input.purpose,
    challenge: deps.random.bytes(32).toString("base64url"),
    account_id: input.accountId,
    sign_in_flow_id: input.signInFlowId,
    session_id: input.sessionId ?? null,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + passkeyChallengeLifetimeSeconds * 1000).toISOString(),
    used_at: null,
  };
  // Expired challenges serve nothing: each new one sweeps them (an indexed range delete).
  await db.deleteFrom("passkey_challenge").where("expires_at", "<", row.created_at).execute();
  await db.insertInto("passkey_challenge").values(row).execute();
  return row;
}

export type ConsumedChallenge =
  | { ok: true; challenge: PasskeyChallengeRow }
  | { ok: false; reason: "not_found" | "expired" };

/**
 * Takes a challenge for one verification, whatever its outcome: one guarded statement, so a
 * replayed response (or two racing ones) finds the challenge already used.
 */
export async function consumePasskeyChallenge(
  db: Kysely<Schema>,
  clock: Clock,
  id: string,
  purpose: PasskeyChallengePurpose,
): Promise<ConsumedChallenge> {
  const row = await db
    .selectFrom("passkey_challenge")
    .selectAll()
    .where("id", "=", id)
    .where("purpose", "=", purpose)
    .executeTakeFirst();
  if (!row || row.used_at !== null) return { ok: false, reason: "not_found" };
  const now = clock.now().toISOString();
  if (row.expires_at <= now) return { ok: false, reason: "expired" };
  const taken = await db
    .updateTable("passkey_challenge")
    .set({ used_at: now })
    .where("id", "=", id)
    .where("used_at", "is", null)
    .executeTakeFirst();
  if (taken.numUpdatedRows === 0n) return { ok: false, reason: "not_found" };
  return { ok: true, challenge: { ...row, used_at: now } };
}
