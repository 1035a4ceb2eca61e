import type { Kysely } from "kysely";
import { type AuditEventType, recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import type { TwoStepChange } from "../../courier/two-step-templates.ts";
import type { Schema } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import type { RequestMeta } from "../../flows/flow-result.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import { maskedPhone } from "../../views/phone-number.ts";
import type { MethodRow, PublicMethod } from "./methods.ts";

const auditTypes: Record<TwoStepChange, AuditEventType> = {
  enabled: "two_step.enabled",
  disabled: "two_step.disabled",
  method_added: "two_step.method_added",
  method_removed: "two_step.method_removed",
  recovery_codes_replaced: "two_step.recovery_codes_replaced",
  recovery_code_used: "two_step.recovery_code_used",
  locked: "two_step.locked",
};

/** A method as a notice shows it: the phone masked as the pages mask it (`***-****-5678`, docs/glossary.md). */
export function toNoticeMethod(row: Pick<MethodRow, "id" | "method" | "phone">): PublicMethod {
  return { id: row.id, method: row.method, destination: row.phone ? maskedPhone(row.phone) : null };
}

/** How a method is named to its owner in mail: 「SMS（***-****-5678）」, "authenticator app". */
export function describeMethod(method: PublicMethod | undefined, locale: "ja" | "en"): string {
  if (!method) return "";
  const names = {
    ja: { sms: "SMS", voice: "音声通話", totp: "認証アプリ" },
    en: { sms: "text message", voice: "voice call", totp: "authenticator app" },
  } as const;
  const name = names[locale][method.method];
  if (!method.destination) return name;
  return locale === "ja" ? `${name}（${method.destination}）` : `${name} (${method.destination})`;
}

/**
 * Every two-step change writes an audit event and mails the owner, in the caller's transaction, so
 * the change and its notice exist together or not at all.
 */
export async function recordTwoStepChange(
  db: Kysely<Schema>,
  deps: Deps,
  account: AccountRow,
  change: TwoStepChange,
  meta: RequestMeta,
  details: { method?: PublicMethod; left?: number } = {},
): Promise<void> {
  await recordAuditEvent(db, deps, {
    type: auditTypes[change],
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: {
      ...(details.method ? { methodId: details.method.id, method: details.method.method } : {}),
      ...(details.left !== undefined ? { left: details.left } : {}),
    },
  });
  await queueMessage(db, deps, "email", account.email, account.locale, {
    kind: "two_step_changed",
    name: account.name,
    change,
    method: describeMethod(details.method, account.locale),
    left: details.left ?? 0,
    securityUrl: new URL("/account/security", deps.config.publicUrl).href,
  });
}
