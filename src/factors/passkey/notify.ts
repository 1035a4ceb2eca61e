import type { Kysely } from "kysely";
import { type AuditEventType, recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import type { PasskeyChange } from "../../courier/passkey-templates.ts";
import type { Schema } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import type { RequestMeta } from "../../flows/flow-result.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import type { PasskeyRow } from "./passkeys.ts";

const auditTypes: Record<PasskeyChange, AuditEventType> = {
  added: "passkey.added",
  removed: "passkey.removed",
  clone_signal: "passkey.clone_signal",
};

/**
 * A passkey added, removed, or refused as a possible clone: an audit event and a mail to the
 * owner, in the caller's transaction when given one, so the change and its notice go together.
 */
export async function recordPasskeyChange(
  db: Kysely<Schema>,
  deps: Deps,
  account: Pick<AccountRow, "id" | "email" | "name" | "locale">,
  change: PasskeyChange,
  passkey: Pick<PasskeyRow, "id" | "name">,
  meta: RequestMeta,
): Promise<void> {
  await recordAuditEvent(db, deps, {
    type: auditTypes[change],
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { passkeyId: passkey.id, name: passkey.name },
  });
  await queueMessage(db, deps, "email", account.email, account.locale, {
    kind: "passkey_changed",
    name: account.name,
    change,
    passkey: passkey.name,
    securityUrl: new URL("/account/security/passkeys", deps.config.publicUrl).href,
  });
}
