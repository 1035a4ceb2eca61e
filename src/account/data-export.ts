import { type Static, Type } from "typebox";
import type { Deps } from "../deps.ts";
import type { AccountRow } from "../identity/accounts.ts";
import { listConnectedApps } from "../oidc/connected-apps.ts";

/**
 * 「データのダウンロード」: everything held about the person (APPI art. 33 disclosure, GDPR
 * art. 15 access) — profile, how they sign in, sessions, activity, the places they signed in
 * from, connected shops and the messages sent to them — and never a secret: no password hash, no
 * TOTP secret, no recovery or one-time code, no session or device token or its hash, no passkey
 * public key, and no message body (bodies carry codes and links that act). The schema is the
 * API's answer (`GET /api/v1/security/export`) and the shape of the JSON download.
 */
const Time = Type.String({ format: "date-time" });
const MaybeTime = Type.Union([Time, Type.Null()]);
const MaybeText = Type.Union([Type.String(), Type.Null()]);

export const DataExportSchema = Type.Object({
  exportedAt: Time,
  account: Type.Object({
    id: Type.String(),
    email: Type.String(),
    emailVerifiedAt: MaybeTime,
    name: Type.String(),
    phone: MaybeText,
    phoneVerifiedAt: MaybeTime,
    locale: Type.String(),
    status: Type.String(),
    createdAt: Time,
  }),
  signInMethods: Type.Object({
    password: Type.Object({ set: Type.Boolean(), changedAt: MaybeTime }),
    twoStepEnabledAt: MaybeTime,
    twoStep: Type.Array(
      Type.Object({
        id: Type.String(),
        method: Type.String(),
        role: Type.String(),
        state: Type.String(),
        phone: MaybeText,
        createdAt: Time,
        verifiedAt: MaybeTime,
        lastUsedAt: MaybeTime,
      }),
    ),
    recoveryCodes: Type.Object({ total: Type.Integer(), unused: Type.Integer() }),
    passkeys: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        syncedToOtherDevices: Type.Boolean(),
        createdAt: Time,
        lastUsedAt: MaybeTime,
      }),
    ),
    trustedBrowsers: Type.Array(
      Type.Object({
        id: Type.String(),
        userAgent: MaybeText,
        ip: MaybeText,
        createdAt: Time,
        lastUsedAt: Time,
        expiresAt: Time,
        forgottenAt: MaybeTime,
      }),
    ),
  }),
  sessions: Type.Array(
    Type.Object({
      id: Type.String(),
      createdAt: Time,
      lastSeenAt: Time,
      endedAt: MaybeTime,
      ip: MaybeText,
      userAgent: MaybeText,
      assuranceLevel: Type.Integer(),
    }),
  ),
  activity: Type.Array(
    Type.Object({
      id: Type.String(),
      type: Type.String(),
      at: Time,
      actor: Type.String(),
      ip: MaybeText,
      userAgent: MaybeText,
      /** The event's detail as recorded (never a secret: src/audit/audit.ts). */
      detail: Type.String(),
    }),
  ),
  signInPlaces: Type.Array(
    Type.Object({ browser: Type.String(), country: Type.String(), firstSeenAt: Time, lastSeenAt: Time }),
  ),
  connectedShops: Type.Array(
    Type.Object({
      clientId: Type.String(),
      name: Type.String(),
      firstAllowedAt: Time,
      lastUsedAt: MaybeTime,
      /** Of: openid, email, profile, phone, offline_access. */
      scopes: Type.Array(Type.String()),
    }),
  ),
  messages: Type.Array(
    Type.Object({
      id: Type.String(),
      channel: Type.String(),
      recipient: Type.String(),
      template: Type.String(),
      subject: MaybeText,
      state: Type.String(),
      createdAt: Time,
      sentAt: MaybeTime,
    }),
  ),
});

export type DataExport = Static<typeof DataExportSchema>;

export async function exportAccountData(
  deps: Pick<Deps, "db" | "clock">,
  account: AccountRow,
): Promise<DataExport> {
  const db = deps.db;
  const id = account.id;
  const now = deps.clock.now();
  const methods = await db
    .selectFrom("two_step_method")
    .select(["id", "method", "role", "state", "phone", "created_at", "verified_at", "last_used_at"])
    .where("account_id", "=", id)
    .orderBy("created_at")
    .execute();
  const codes = await db.selectFrom("recovery_code").select("used_at").where("account_id", "=", id).execute();
  const passkeys = await db
    .selectFrom("passkey")
    .select(["id", "name", "backed_up", "created_at", "last_used_at"])
    .where("account_id", "=", id)
    .orderBy("created_at")
    .execute();
  const devices = await db
    .selectFrom("trusted_device")
    .select(["id", "user_agent", "ip", "created_at", "last_used_at", "expires_at", "revoked_at"])
    .where("account_id", "=", id)
    .orderBy("created_at")
    .execute();
  const sessions = await db
    .selectFrom("session")
    .select(["id", "created_at", "last_seen_at", "revoked_at", "ip", "user_agent", "aal"])
    .where("account_id", "=", id)
    .orderBy("created_at", "desc")
    .execute();
  const events = await db
    .selectFrom("audit_event")
    .select(["id", "type", "created_at", "actor", "ip", "user_agent", "detail"])
    .where("account_id", "=", id)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
  const places = await db
    .selectFrom("sign_in_context")
    .select(["browser", "country", "first_seen_at", "last_seen_at"])
    .where("account_id", "=", id)
    .orderBy("first_seen_at")
    .execute();
  // Messages to the numbers this person proved are theirs: a number typed into a method never
  // verified may be anyone's, and its texts (another account's codes, their times) are not theirs.
  const provenPhones = methods
    .filter((m) => m.state === "active")
    .map((m) => m.phone)
    .concat(account.phone_verified_at !== null ? account.phone : null);
  const recipients = [account.email, ...new Set(provenPhones)].filter(
    (r): r is string => typeof r === "string",
  );
  const messages = await db
    .selectFrom("outbox_message")
    .select(["id", "channel", "recipient", "template", "subject", "state", "created_at", "sent_at"])
    .where("recipient", "in", recipients)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
  return {
    exportedAt: now.toISOString(),
    account: {
      id,
      email: account.email,
      emailVerifiedAt: account.email_verified_at,
      name: account.name,
      phone: account.phone,
      phoneVerifiedAt: account.phone_verified_at,
      locale: account.locale,
      status: account.status,
      createdAt: account.created_at,
    },
    signInMethods: {
      password: { set: account.password_hash !== null, changedAt: account.password_changed_at },
      twoStepEnabledAt: account.two_step_enabled_at,
      twoStep: methods.map((m) => ({
        id: m.id,
        method: m.method,
        role: m.role,
        state: m.state,
        phone: m.phone,
        createdAt: m.created_at,
        verifiedAt: m.verified_at,
        lastUsedAt: m.last_used_at,
      })),
      recoveryCodes: { total: codes.length, unused: codes.filter((c) => c.used_at === null).length },
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        syncedToOtherDevices: p.backed_up === 1,
        createdAt: p.created_at,
        lastUsedAt: p.last_used_at,
      })),
      trustedBrowsers: devices.map((d) => ({
        id: d.id,
        userAgent: d.user_agent,
        ip: d.ip,
        createdAt: d.created_at,
        lastUsedAt: d.last_used_at,
        expiresAt: d.expires_at,
        forgottenAt: d.revoked_at,
      })),
    },
    sessions: sessions.map((s) => ({
      id: s.id,
      createdAt: s.created_at,
      lastSeenAt: s.last_seen_at,
      endedAt: s.revoked_at,
      ip: s.ip,
      userAgent: s.user_agent,
      assuranceLevel: s.aal,
    })),
    activity: events.map((e) => ({
      id: e.id,
      type: e.type,
      at: e.created_at,
      actor: e.actor,
      ip: e.ip,
      userAgent: e.user_agent,
      detail: e.detail,
    })),
    signInPlaces: places.map((p) => ({
      browser: p.browser,
      country: p.country,
      firstSeenAt: p.first_seen_at,
      lastSeenAt: p.last_seen_at,
    })),
    connectedShops: await listConnectedApps(db, id, now),
    messages: messages.map((m) => ({
      id: m.id,
      channel: m.channel,
      recipient: m.recipient,
      template: m.template,
      subject: m.subject,
      state: m.state,
      createdAt: m.created_at,
      sentAt: m.sent_at,
    })),
  };
}
