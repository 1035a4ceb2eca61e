import { sql } from "kysely";
import type { Deps } from "../deps.ts";
import { listPasskeys } from "../factors/passkey/passkeys.ts";
import { listActiveMethods } from "../factors/two-step/methods.ts";
import { type AccountRow, findAccountById } from "../identity/accounts.ts";
import { normalizeEmail } from "../identity/identifiers.ts";
import { parsePhoneNumberFromString } from "../identity/phone-numbers.ts";
import { type ConnectedApp, listConnectedApps } from "../oidc/connected-apps.ts";
import { listLiveSessions, type SessionRow } from "../session/sessions.ts";
import { listTrustedDevices, type TrustedDeviceRow } from "../session/trusted-devices.ts";

/**
 * What the console reads: a customer found by what a caller can say on the phone (email, mobile
 * number, name, id), everything about them that helps support (never a secret: no password hash,
 * no app secret, no code, no message body), and the service's last 24 hours.
 */
const searchLimit = 50;

/** `%`, `_` and `\` typed into the search box match themselves, not any text. */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function searchCustomers(deps: Pick<Deps, "db">, query: string): Promise<AccountRow[]> {
  const q = query.normalize("NFKC").trim();
  if (q === "" || q.length > 200) return [];
  if (/^acc_[a-z0-9]+$/i.test(q)) {
    const account = await findAccountById(deps.db, q);
    return account ? [account] : [];
  }
  const phone = parsePhoneNumberFromString(q, "JP");
  if (phone?.isValid()) {
    return deps.db
      .selectFrom("account")
      .selectAll()
      .where("phone", "=", phone.number)
      .limit(searchLimit)
      .execute();
  }
  const email = q.includes("@") ? normalizeEmail(q) : undefined;
  if (email) {
    return deps.db.selectFrom("account").selectAll().where("email", "=", email).limit(searchLimit).execute();
  }
  // A part of an email address or of a name (全角 and 半角 alike after NFKC).
  const pattern = `%${likeEscape(q.toLowerCase())}%`;
  return deps.db
    .selectFrom("account")
    .selectAll()
    .where((eb) =>
      eb.or([
        eb(sql`lower(email)`, "like", sql`${pattern} escape '\\'`),
        eb(sql`lower(name)`, "like", sql`${pattern} escape '\\'`),
      ]),
    )
    .orderBy("created_at", "desc")
    .limit(searchLimit)
    .execute();
}

export type CustomerMail = {
  id: string;
  channel: string;
  template: string;
  state: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
};

export type CustomerEvent = {
  type: string;
  actor: string;
  at: string;
  ip: string | null;
  userAgent: string | null;
  detail: string;
};

export type StaffActionEntry = { action: string; staffName: string; reason: string; at: string };

export type CustomerFile = {
  account: AccountRow;
  methods: { method: string; role: string; phone: string | null; lastUsedAt: string | null }[];
  passkeys: { name: string; createdAt: string; lastUsedAt: string | null }[];
  sessions: SessionRow[];
  trustedDevices: TrustedDeviceRow[];
  events: CustomerEvent[];
  apps: ConnectedApp[];
  mails: CustomerMail[];
  staffActions: StaffActionEntry[];
};

export async function customerFile(
  deps: Pick<Deps, "db" | "clock">,
  accountId: string,
): Promise<CustomerFile | undefined> {
  const account = await findAccountById(deps.db, accountId);
  if (!account) return undefined;
  const now = deps.clock.now();
  const recipients = [account.email, ...(account.phone ? [account.phone] : [])];
  const [methods, passkeys, sessions, trustedDevices, events, apps, mails, staffActions] = await Promise.all([
    listActiveMethods(deps.db, account.id),
    listPasskeys(deps.db, account.id),
    listLiveSessions(deps.db, account.id, now),
    listTrustedDevices(deps.db, account.id, now),
    deps.db
      .selectFrom("audit_event")
      .select(["type", "actor", "created_at", "ip", "user_agent", "detail"])
      .where("account_id", "=", account.id)
      .orderBy("id", "desc")
      .limit(100)
      .execute(),
    listConnectedApps(deps.db, account.id, now),
    deps.db
      .selectFrom("outbox_message")
      .select(["id", "channel", "template", "state", "attempts", "last_error", "created_at", "sent_at"])
      .where("recipient", "in", recipients)
      .orderBy("created_at", "desc")
      .limit(50)
      .execute(),
    deps.db
      .selectFrom("staff_action")
      .innerJoin("staff_account", "staff_account.id", "staff_action.staff_id")
      .select(["staff_action.action", "staff_account.name", "staff_action.reason", "staff_action.created_at"])
      .where("staff_action.account_id", "=", account.id)
      .orderBy("staff_action.id", "desc")
      .limit(50)
      .execute(),
  ]);
  return {
    account,
    methods: methods.map((m) => ({
      method: m.method,
      role: m.role,
      phone: m.phone,
      lastUsedAt: m.last_used_at,
    })),
    passkeys: passkeys.map((p) => ({ name: p.name, createdAt: p.created_at, lastUsedAt: p.last_used_at })),
    sessions,
    trustedDevices,
    events: events.map((e) => ({
      type: e.type,
      actor: e.actor,
      at: e.created_at,
      ip: e.ip,
      userAgent: e.user_agent,
      detail: e.detail,
    })),
    apps,
    mails: mails.map((m) => ({
      id: m.id,
      channel: m.channel,
      template: m.template,
      state: m.state,
      attempts: m.attempts,
      lastError: m.last_error,
      createdAt: m.created_at,
      sentAt: m.sent_at,
    })),
    staffActions: staffActions.map((a) => ({
      action: a.action,
      staffName: a.name,
      reason: a.reason,
      at: a.created_at,
    })),
  };
}

export type Dashboard = {
  signIns: number;
  failedSignIns: number;
  pauses: number;
  twoStepLocks: number;
  phoneSends: { channel: string; country: string; count: number }[];
  phoneSendsLastHour: number;
  phoneBudgetPerHour: number;
  outboxPending: number;
  outboxFailed: number;
  oldestPendingAt: string | null;
};

/** The last 24 hours, from the audit log and the outbox (the same for every process). */
export async function dashboard(deps: Pick<Deps, "db" | "clock" | "config">): Promise<Dashboard> {
  const now = deps.clock.now();
  const since = new Date(now.getTime() - 24 * 3600 * 1000).toISOString();
  const hourAgo = new Date(now.getTime() - 3600 * 1000).toISOString();
  const counts = await deps.db
    .selectFrom("audit_event")
    .select(["type", sql<number>`count(*)`.as("n")])
    .where("created_at", ">", since)
    .where("type", "in", ["sign_in.succeeded", "sign_in.failed", "two_step.locked"])
    .groupBy("type")
    .execute();
  const pauses = await deps.db
    .selectFrom("audit_event")
    .select(sql<number>`count(*)`.as("n"))
    .where("created_at", ">", since)
    .where("type", "=", "sign_in.failed")
    .where("detail", "not like", '%"pausedForSeconds":null%')
    .where("detail", "like", '%"pausedForSeconds":%')
    .executeTakeFirst();
  const phoneRows = await deps.db
    .selectFrom("outbox_message")
    .select(["channel", "recipient", "created_at"])
    .where("channel", "in", ["sms", "voice"])
    .where("created_at", ">", since)
    .execute();
  const perCountry = new Map<string, { channel: string; country: string; count: number }>();
  for (const row of phoneRows) {
    const country = parsePhoneNumberFromString(row.recipient)?.country ?? "unknown";
    const key = `${row.channel}:${country}`;
    const entry = perCountry.get(key) ?? { channel: row.channel, country, count: 0 };
    entry.count += 1;
    perCountry.set(key, entry);
  }
  const outbox = await deps.db
    .selectFrom("outbox_message")
    .select([
      sql<number>`sum(case when state in ('pending', 'sending') then 1 else 0 end)`.as("pending"),
      sql<number>`sum(case when state = 'failed' then 1 else 0 end)`.as("failed"),
      sql<string | null>`min(case when state in ('pending', 'sending') then created_at end)`.as("oldest"),
    ])
    .executeTakeFirst();
  const count = (type: string): number => Number(counts.find((c) => c.type === type)?.n ?? 0);
  return {
    signIns: count("sign_in.succeeded"),
    failedSignIns: count("sign_in.failed"),
    pauses: Number(pauses?.n ?? 0),
    twoStepLocks: count("two_step.locked"),
    phoneSends: [...perCountry.values()].sort((a, b) => b.count - a.count),
    phoneSendsLastHour: phoneRows.filter((r) => r.created_at > hourAgo).length,
    phoneBudgetPerHour: deps.config.limits.phoneSendsGlobalPerHour,
    outboxPending: Number(outbox?.pending ?? 0),
    outboxFailed: Number(outbox?.failed ?? 0),
    oldestPendingAt: outbox?.oldest ?? null,
  };
}
