import type { Kysely, Selectable } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import { newId } from "../crypto/secrets.ts";
import type { FederatedIdentityTable, Schema } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import type { AccountRow } from "../identity/accounts.ts";
import { isNewSignInContext, signInContextOf } from "../identity/sign-in-context.ts";
import { createSession, type SessionRow } from "../session/sessions.ts";
import type { FederationProvider } from "./federation-config.ts";

export type FederatedIdentityRow = Selectable<FederatedIdentityTable>;

export async function findIdentity(
  db: Kysely<Schema>,
  provider: string,
  subject: string,
): Promise<FederatedIdentityRow | undefined> {
  return db
    .selectFrom("federated_identity")
    .selectAll()
    .where("provider", "=", provider)
    .where("subject", "=", subject)
    .executeTakeFirst();
}

export async function listIdentities(db: Kysely<Schema>, accountId: string): Promise<FederatedIdentityRow[]> {
  return db
    .selectFrom("federated_identity")
    .selectAll()
    .where("account_id", "=", accountId)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

export async function touchIdentity(db: Kysely<Schema>, id: string, now: Date): Promise<void> {
  await db
    .updateTable("federated_identity")
    .set({ last_used_at: now.toISOString() })
    .where("id", "=", id)
    .execute();
}

/**
 * Links a provider identity to an account, in the caller's transaction; false when that identity
 * already belongs to an account (the unique (provider, subject) index decides, under races too).
 * The owner is mailed: a link they did not make is a way in they must hear about.
 */
export async function insertIdentity(
  trx: Kysely<Schema>,
  deps: Deps,
  account: AccountRow,
  provider: FederationProvider,
  claims: { subject: string; email: string | undefined },
  meta: RequestMeta,
): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  const result = await trx
    .insertInto("federated_identity")
    .values({
      id: newId(deps.random, "fid"),
      provider: provider.name,
      subject: claims.subject,
      account_id: account.id,
      email: claims.email ?? null,
      created_at: now,
      last_used_at: now,
    })
    .onConflict((oc) => oc.columns(["provider", "subject"]).doNothing())
    .executeTakeFirst();
  if ((result.numInsertedOrUpdatedRows ?? 0n) === 0n) return false;
  await recordAuditEvent(trx, deps, {
    type: "federation.linked",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { provider: provider.name },
  });
  await queueMessage(trx, deps, "email", account.email, account.locale, {
    kind: "federation_linked",
    name: account.name,
    provider: provider.label,
    securityUrl: new URL("/account/security/sign-in-methods", deps.config.publicUrl).href,
  });
  return true;
}

export type NewFederatedAccount = {
  provider: FederationProvider;
  subject: string;
  /** An email the provider verified, or one the person proved with a code. */
  email: string;
  name: string;
  locale: "ja" | "en";
  keepSignedIn: boolean;
};

/**
 * A first sign-in with a provider: a new account (no password; the provider is its way in) and
 * its link, signed in, in one transaction. Undefined when the email or the identity was taken
 * meanwhile (unique indexes).
 */
export async function createFederatedAccount(
  deps: Deps,
  input: NewFederatedAccount,
  meta: RequestMeta,
): Promise<{ accountId: string; token: string; session: SessionRow } | undefined> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const accountId = newId(deps.random, "acc");
  const created = await deps.db
    .transaction()
    .execute(async (trx) => {
      const inserted = await trx
        .insertInto("account")
        .values({
          id: accountId,
          email: input.email,
          email_verified_at: at,
          name: input.name,
          phone: null,
          phone_verified_at: null,
          password_hash: null,
          password_changed_at: null,
          locale: input.locale,
          status: "active",
          status_reason: null,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.column("email").doNothing())
        .executeTakeFirst();
      if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) throw new RolledBack();
      const identity = await trx
        .insertInto("federated_identity")
        .values({
          id: newId(deps.random, "fid"),
          provider: input.provider.name,
          subject: input.subject,
          account_id: accountId,
          email: input.email,
          created_at: at,
          last_used_at: at,
        })
        .onConflict((oc) => oc.columns(["provider", "subject"]).doNothing())
        .executeTakeFirst();
      if ((identity.numInsertedOrUpdatedRows ?? 0n) === 0n) throw new RolledBack();
      const minted = await createSession(
        trx,
        { ...deps, limits: deps.config.limits },
        {
          accountId,
          factors: ["federated"],
          persistent: input.keepSignedIn,
          sessionType: "cookie",
          ip: meta.ip,
          userAgent: meta.userAgent,
        },
      );
      // The browser and place of the first sign-in are the account's first known ones.
      await isNewSignInContext(trx, accountId, await signInContextOf(meta.ip, meta.userAgent), now);
      await recordAuditEvent(trx, deps, {
        type: "account.created",
        accountId,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { provider: input.provider.name },
      });
      // The first sign-in is a sign-in too: the activity names the provider it came by, as every later one.
      await recordAuditEvent(trx, deps, {
        type: "federation.signed_in",
        accountId,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { provider: input.provider.name },
      });
      await queueMessage(trx, deps, "email", input.email, input.locale, {
        kind: "account_created",
        name: input.name,
        securityUrl: new URL("/account/security", deps.config.publicUrl).href,
      });
      return minted;
    })
    .catch((error: unknown) => {
      if (error instanceof RolledBack) return undefined;
      throw error;
    });
  if (!created) return undefined;
  deps.courier.wake();
  return { accountId, token: created.token, session: created.session };
}

/** Thrown inside a transaction to undo it when a unique index said no; never leaves this file. */
class RolledBack extends Error {}

/** True when a provider is linked to the account: then it has a way in besides password and passkeys. */
export async function hasLinkedIdentity(db: Kysely<Schema>, accountId: string): Promise<boolean> {
  const row = await db
    .selectFrom("federated_identity")
    .select("id")
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  return row !== undefined;
}
