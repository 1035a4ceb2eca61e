import type { Selectable } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import { newId } from "../crypto/secrets.ts";
import type { FederationFlowTable } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { startSecondFactor } from "../flows/sign-in/second-factor.ts";
import { admitSignIn, completeSignIn, type SignedIn } from "../flows/sign-in/sign-in.ts";
import { type AccountRow, findAccountByEmail, findAccountById } from "../identity/accounts.ts";
import { normalizeEmail } from "../identity/identifiers.ts";
import { type Factor, markReauthenticated } from "../session/sessions.ts";
import { findTrustedDevice } from "../session/trusted-devices.ts";
import { ipThrottleSubject } from "../throttle/ip-subject.ts";
import type { FederationProvider } from "./federation-config.ts";
import { createFederatedAccount, findIdentity, insertIdentity, touchIdentity } from "./identities.ts";
import { authorizationUrl, completeAuthorization, type ProviderClaims } from "./provider-client.ts";

/**
 * One trip to a provider and back. The flow's id is the OAuth `state`; the row keeps the PKCE
 * verifier and the nonce, lives 10 minutes and is spent by the first callback that names it (one
 * guarded statement), so a replayed callback finds nothing. Which browser may bring the callback
 * is the routes' check (a cookie, src/federation/routes.ts).
 *
 * The account rules (docs/social-sign-in.md):
 * - a linked identity signs in to its account, through two-step when the account has it on;
 * - a new identity with a verified email nobody uses makes a new account without a password;
 * - a new identity whose email belongs to an account is never linked to it: the person must sign
 *   in to that account (password and two-step, or a passkey) and link the provider there;
 * - without a verified email, the person proves one with a code (./email-step.ts).
 */
export type FederationFlowRow = Selectable<FederationFlowTable>;

/** `sign_in` (and sign-up); `link` a provider to the signed-in account; `reauth`: prove it is the owner again. */
export type FederationPurpose = "sign_in" | "link" | "reauth";

/** Why a trip to a provider ended without signing in; each has a page text (i18n/federation-text.ts). */
export type FederationRefusal =
  | "flow_not_found"
  | "cancelled"
  | "refused"
  | "unavailable"
  | "email_in_use"
  | "identity_in_use"
  | "account_suspended"
  | "account_closed"
  | "country_not_allowed"
  | "too_many_attempts";

export type Refused = { ok: false; reason: FederationRefusal; retryAfterSeconds?: number };

export type FederationOutcome =
  | { ok: true; kind: "signed_in"; signedIn: SignedIn; returnTo: string }
  | { ok: true; kind: "two_step"; challengeId: string; returnTo: string }
  | { ok: true; kind: "linked"; returnTo: string }
  | { ok: true; kind: "reauthenticated"; returnTo: string }
  | { ok: true; kind: "email_needed"; flowId: string }
  | Refused;

// Long enough to choose an account and agree at the provider; short enough that a stolen state is stale.
export const flowLifetimeSeconds = 600;

/** The provider's redirect URI for this Mamori: registered in the provider's console. */
export function redirectUriFor(deps: Deps, provider: FederationProvider): string {
  return new URL(`/sign-in/federation/${provider.name}/callback`, deps.config.publicUrl).href;
}

export async function startFederation(
  deps: Deps,
  provider: FederationProvider,
  input: {
    purpose: FederationPurpose;
    /** For `link` and `reauth`: the signed-in account and the session that asked. */
    signedIn: { accountId: string; sessionId: string } | null;
    returnTo: string;
    keepSignedIn: boolean;
    locale: "ja" | "en";
    ip: string | null;
  },
): Promise<{ ok: true; flowId: string; url: URL } | Refused> {
  const allowed = await deps.throttle.hit(
    `federation_start:ip:${ipThrottleSubject(input.ip)}`,
    startsPerIp,
    deps.clock.now(),
  );
  if (!allowed.allowed)
    return { ok: false, reason: "too_many_attempts", retryAfterSeconds: allowed.retryAfterSeconds };
  const id = newId(deps.random, "fed");
  let start: Awaited<ReturnType<typeof authorizationUrl>>;
  try {
    start = await authorizationUrl(provider, redirectUriFor(deps, provider), id, input.locale);
  } catch (error) {
    deps.log.warn({ err: error, provider: provider.name }, "federation: provider discovery failed");
    return { ok: false, reason: "unavailable" };
  }
  const now = deps.clock.now();
  await deps.db
    .insertInto("federation_flow")
    .values({
      id,
      provider: provider.name,
      purpose: input.purpose,
      state: "started",
      account_id: input.signedIn?.accountId ?? null,
      session_id: input.signedIn?.sessionId ?? null,
      code_verifier: start.codeVerifier,
      nonce: start.nonce,
      return_to: input.returnTo,
      keep_signed_in: input.keepSignedIn ? 1 : 0,
      locale: input.locale,
      subject: null,
      name: null,
      email: null,
      expires_at: new Date(now.getTime() + flowLifetimeSeconds * 1000).toISOString(),
      created_at: now.toISOString(),
    })
    .execute();
  return { ok: true, flowId: id, url: start.url };
}

/** Deletes the trips that expired (housekeeping); a replayed callback of one then finds nothing, as before. */
export async function purgeExpiredFederationFlows(db: Deps["db"], now: Date): Promise<number> {
  const result = await db
    .deleteFrom("federation_flow")
    .where("expires_at", "<=", now.toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

// Starting a trip stores a row: 60 a minute from one address is more than its people need.
const startsPerIp = { limit: 60, windowSeconds: 60 };

/** Spends a started flow: only the first callback that names it gets it. */
async function spendFlow(deps: Deps, id: string): Promise<FederationFlowRow | undefined> {
  const now = deps.clock.now().toISOString();
  const flow = await deps.db
    .selectFrom("federation_flow")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (flow?.state !== "started" || flow.expires_at <= now) return undefined;
  const spent = await deps.db
    .updateTable("federation_flow")
    .set({ state: "completed" })
    .where("id", "=", id)
    .where("state", "=", "started")
    .executeTakeFirst();
  return spent.numUpdatedRows === 0n ? undefined : flow;
}

/**
 * The callback: `currentUrl` is the public callback URL with the provider's parameters (for
 * form_post, the posted ones in its query). The caller has checked the flow belongs to this browser.
 */
export async function finishFederation(
  deps: Deps,
  provider: FederationProvider,
  flowId: string,
  currentUrl: URL | Request,
  meta: RequestMeta,
  browser: {
    trustedDeviceToken: string | undefined;
    sessionId: string | undefined;
    /** Apple's name, posted on the first authorization only (never in its ID token). */
    postedName?: string | undefined;
  },
): Promise<FederationOutcome> {
  const flow = await spendFlow(deps, flowId);
  if (!flow || flow.provider !== provider.name) return { ok: false, reason: "flow_not_found" };
  // A link or a reauthentication belongs to the session that asked: signed out (or another
  // person signed in) in this browser meanwhile, the result would reach the wrong session.
  if (flow.purpose !== "sign_in" && flow.session_id !== browser.sessionId)
    return { ok: false, reason: "flow_not_found" };
  const now = deps.clock.now();
  // A provider's answer counts like a password: refused ones fill the address's failure budget.
  const admitted = await admitSignIn(deps, meta, now);
  if (!admitted.ok) {
    if (admitted.code === "too_many_attempts")
      return {
        ok: false,
        reason: "too_many_attempts",
        ...(admitted.retryAfterSeconds ? { retryAfterSeconds: admitted.retryAfterSeconds } : {}),
      };
    return { ok: false, reason: "country_not_allowed" };
  }
  let checked: Awaited<ReturnType<typeof completeAuthorization>>;
  try {
    checked = await completeAuthorization(provider, currentUrl, {
      state: flow.id,
      nonce: flow.nonce,
      codeVerifier: flow.code_verifier,
    });
  } catch (error) {
    await admitted.succeeded(); // the provider could not be reached: nobody was refused
    deps.log.warn({ err: error, provider: provider.name }, "federation: provider unreachable");
    return { ok: false, reason: "unavailable" };
  }
  if (!checked.ok) {
    if (checked.reason === "cancelled") {
      await admitted.succeeded();
      return { ok: false, reason: "cancelled" };
    }
    deps.log.warn({ provider: provider.name, detail: checked.detail }, "federation: provider answer refused");
    return { ok: false, reason: "refused" };
  }
  await admitted.succeeded();
  const claims = { ...checked.claims, name: checked.claims.name ?? browser.postedName };
  if (flow.purpose === "link") return linkToAccount(deps, provider, flow, claims, meta);
  if (flow.purpose === "reauth") return reauthenticate(deps, provider, flow, claims, meta);
  return signInWithClaims(deps, provider, flow, claims, meta, browser.trustedDeviceToken);
}

async function linkToAccount(
  deps: Deps,
  provider: FederationProvider,
  flow: FederationFlowRow,
  claims: ProviderClaims,
  meta: RequestMeta,
): Promise<FederationOutcome> {
  const account = flow.account_id ? await findAccountById(deps.db, flow.account_id) : undefined;
  if (account?.status !== "active") return { ok: false, reason: "flow_not_found" };
  const existing = await findIdentity(deps.db, provider.name, claims.subject);
  if (existing) {
    if (existing.account_id === account.id) return { ok: true, kind: "linked", returnTo: flow.return_to };
    return { ok: false, reason: "identity_in_use" };
  }
  const linked = await deps.db
    .transaction()
    .execute((trx) => insertIdentity(trx, deps, account, provider, claims, meta));
  if (!linked) return { ok: false, reason: "identity_in_use" };
  deps.courier.wake();
  return { ok: true, kind: "linked", returnTo: flow.return_to };
}

/** The owner proved again by a provider linked to their account: the session counts as recent. */
async function reauthenticate(
  deps: Deps,
  provider: FederationProvider,
  flow: FederationFlowRow,
  claims: ProviderClaims,
  meta: RequestMeta,
): Promise<FederationOutcome> {
  const identity = await findIdentity(deps.db, provider.name, claims.subject);
  // Another person's account at the provider proves nothing about this account's owner.
  if (!identity || identity.account_id !== flow.account_id || !flow.session_id)
    return { ok: false, reason: "refused" };
  const now = deps.clock.now();
  await markReauthenticated(deps.db, flow.session_id, now);
  await touchIdentity(deps.db, identity.id, now);
  await recordAuditEvent(deps.db, deps, {
    type: "session.reauthenticated",
    accountId: identity.account_id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { provider: provider.name },
  });
  return { ok: true, kind: "reauthenticated", returnTo: flow.return_to };
}

async function signInWithClaims(
  deps: Deps,
  provider: FederationProvider,
  flow: FederationFlowRow,
  claims: ProviderClaims,
  meta: RequestMeta,
  trustedDeviceToken: string | undefined,
): Promise<FederationOutcome> {
  const identity = await findIdentity(deps.db, provider.name, claims.subject);
  if (identity) {
    const account = await findAccountById(deps.db, identity.account_id);
    if (!account) return { ok: false, reason: "flow_not_found" };
    return signInToAccount(deps, provider, flow, account, identity.id, claims, meta, trustedDeviceToken);
  }
  const email = claims.emailVerified && claims.email ? normalizeEmail(claims.email) : undefined;
  if (!email) {
    // No email, or one the provider did not verify: the person proves one with a code.
    await deps.db
      .updateTable("federation_flow")
      .set({
        state: "email_needed",
        subject: claims.subject,
        name: claims.name ?? null,
        expires_at: new Date(deps.clock.now().getTime() + flowLifetimeSeconds * 1000).toISOString(),
      })
      .where("id", "=", flow.id)
      .execute();
    return { ok: true, kind: "email_needed", flowId: flow.id };
  }
  if (await findAccountByEmail(deps.db, email)) {
    // Never linked by the email alone: whoever controls the provider account may not control this one.
    return { ok: false, reason: "email_in_use" };
  }
  return createAccountAndSignIn(deps, provider, flow, claims.subject, email, claims.name, meta);
}

/** A new account from a proven email (the provider's verified one, or one confirmed by code). */
export async function createAccountAndSignIn(
  deps: Deps,
  provider: FederationProvider,
  flow: FederationFlowRow,
  subject: string,
  email: string,
  name: string | undefined,
  meta: RequestMeta,
): Promise<FederationOutcome> {
  const created = await createFederatedAccount(
    deps,
    {
      provider,
      subject,
      email,
      // Apple and LINE without the profile scope give no name: the mailbox's name stands in.
      name: (name ?? email.split("@")[0] ?? email).slice(0, 100),
      locale: flow.locale,
      keepSignedIn: flow.keep_signed_in === 1,
    },
    meta,
  );
  if (!created) return { ok: false, reason: "email_in_use" };
  const account = await findAccountById(deps.db, created.accountId);
  if (!account) throw new Error(`account ${created.accountId} vanished right after its creation`);
  return {
    ok: true,
    kind: "signed_in",
    signedIn: { ok: true, status: "signed_in", account, token: created.token, session: created.session },
    returnTo: flow.return_to,
  };
}

/**
 * A linked identity signs in to its account as a password would: suspended and closed accounts
 * are refused, and two-step (unless the browser is trusted, or the operator accepts the
 * provider's own "mfa") asks for the account's second factor.
 */
async function signInToAccount(
  deps: Deps,
  provider: FederationProvider,
  flow: FederationFlowRow,
  account: AccountRow,
  identityId: string,
  claims: ProviderClaims,
  meta: RequestMeta,
  trustedDeviceToken: string | undefined,
): Promise<FederationOutcome> {
  if (account.status === "suspended") return { ok: false, reason: "account_suspended" };
  if (account.status === "closed") return { ok: false, reason: "account_closed" };
  const now = deps.clock.now();
  await touchIdentity(deps.db, identityId, now);
  await recordAuditEvent(deps.db, deps, {
    type: "federation.signed_in",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { provider: provider.name },
  });
  const choice = { sessionType: "cookie" as const, keepSignedIn: flow.keep_signed_in === 1 };
  let factors: Factor[] = ["federated"];
  if (account.two_step_enabled_at) {
    const trusted = await findTrustedDevice(deps.db, deps.clock, account.id, trustedDeviceToken);
    if (trusted) factors = ["federated", "trusted_device"];
    else if (provider.acceptProviderMfa && claims.providerMfa) factors = ["federated", "federated_mfa"];
    else {
      const started = await startSecondFactor(deps, account, choice, meta, ["federated"]);
      if (!started.ok) return { ok: false, reason: "flow_not_found" };
      return { ok: true, kind: "two_step", challengeId: started.challenge.id, returnTo: flow.return_to };
    }
  }
  const signedIn = await completeSignIn(deps, account, factors, choice, meta);
  deps.courier.wake();
  return { ok: true, kind: "signed_in", signedIn, returnTo: flow.return_to };
}
