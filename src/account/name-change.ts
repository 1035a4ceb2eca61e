import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import type { Deps } from "../deps.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flows/flow-result.ts";
import { normalizeName } from "../flows/registration/registration.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";

/** Login & security -> 氏名: the same rules as at sign-up (1–100 characters, no control characters); the owner is mailed. */
export async function changeName(
  deps: Deps,
  auth: AuthenticatedSession,
  input: { name: string },
  meta: RequestMeta,
): Promise<{ ok: true; name: string } | FlowFailure> {
  const name = normalizeName(input.name);
  if (!name) return failure("name_invalid", { field: "name" });
  const now = deps.clock.now().toISOString();
  const account = auth.account;
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable("account").set({ name, updated_at: now }).where("id", "=", account.id).execute();
    await recordAuditEvent(trx, deps, {
      type: "account.name_changed",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "profile_changed",
      name,
      change: "name",
      phone: "",
      securityUrl: new URL("/account/security", deps.config.publicUrl).href,
    });
  });
  deps.courier.wake();
  return { ok: true, name };
}
