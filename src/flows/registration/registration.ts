import { recordAuditEvent } from "../../audit/audit.ts";
import type { Locale } from "../../config/config.ts";
import { queueMessage } from "../../courier/outbox.ts";
import { newId } from "../../crypto/secrets.ts";
import type { RegistrationState } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { issueCode, verifyCode } from "../../factors/one-time-code/one-time-code.ts";
import {
  type AccountRow,
  findAccountByEmail,
  findAccountById,
  insertAccount,
} from "../../identity/accounts.ts";
import { normalizeEmail } from "../../identity/identifiers.ts";
import { isNewSignInContext, signInContextOf } from "../../identity/sign-in-context.ts";
import { checkBreached } from "../../passwords/breach-check.ts";
import { hashPassword } from "../../passwords/hashing.ts";
import { checkPasswordPolicy } from "../../passwords/policy.ts";
import { createSession, type SessionRow } from "../../session/sessions.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { codeDepsFor, codeRefusal, codeRulesFor, resendRefusal, secondsUntil } from "../code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";

export type RegistrationInput = { name: string; email: string; password: string; locale: Locale };

export type StartedRegistration = {
  ok: true;
  registration: { id: string; email: string; expiresAt: string };
};

export type CompletedRegistration = { ok: true; account: AccountRow; token: string; session: SessionRow };

const maxNameLength = 100;

export function normalizeName(input: string): string | undefined {
  const name = input.normalize("NFC").trim().replace(/\s+/g, " ");
  // Control characters in a name end up in mail headers and logs; nobody's name has them.
  if (name.length === 0 || [...name].length > maxNameLength || /\p{Cc}/u.test(name)) return undefined;
  return name;
}

/** A refused registration: the first problem (the API's answer) and every field's (the page's). */
export type RegistrationRefusal = FlowFailure & { problems?: FlowFailure[] };

type CheckedInput =
  | { ok: true; name: string; email: string; policy: { ok: true; password: string } }
  | { ok: false; problems: [FlowFailure, ...FlowFailure[]] };

/**
 * Every field's problem at once (name, email, password), so the page can list them together
 * instead of one per submit. The password is checked against the name and email as typed when
 * they are not valid yet.
 */
function checkRegistrationInput(input: RegistrationInput, limits: Deps["config"]["limits"]): CheckedInput {
  const problems: FlowFailure[] = [];
  const name = normalizeName(input.name);
  if (!name) problems.push(failure("name_invalid", { field: "name" }));
  const email = normalizeEmail(input.email);
  if (!email) problems.push(failure("email_invalid", { field: "email" }));
  const policy = checkPasswordPolicy(
    input.password,
    { email: email ?? input.email, name: name ?? input.name },
    limits,
  );
  if (!policy.ok) {
    problems.push(
      failure(policy.problem.code, {
        field: "password",
        ...("values" in policy.problem ? { values: policy.problem.values } : {}),
      }),
    );
  }
  const [first, ...rest] = problems;
  if (first) return { ok: false, problems: [first, ...rest] };
  // Without a problem each check passed; the conditions only tell TypeScript so.
  if (!name || !email || !policy.ok) throw new Error("a registration without problems has every field");
  return { ok: true, name, email, policy };
}

/**
 * Step 1: validate, hash the password and mail a code. When the email already has an account the
 * answer is the same (a decoy flow that can never complete) and the owner is told by mail instead,
 * so registration reveals nothing about who has an account.
 */
export async function startRegistration(
  deps: Deps,
  input: RegistrationInput,
  meta: RequestMeta,
): Promise<StartedRegistration | RegistrationRefusal> {
  // Before any work: a bulk sign-up from one place must not cost a hash and a mail each time.
  const perIp = { limit: deps.config.limits.registrationsPerIpPerHour, windowSeconds: 3600 };
  const verdict = await deps.throttle.hit(
    `registration:ip:${ipThrottleSubject(meta.ip)}`,
    perIp,
    deps.clock.now(),
  );
  if (!verdict.allowed) return failure("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  const checked = checkRegistrationInput(input, deps.config.limits);
  if (!checked.ok) return { ...(checked.problems[0] as FlowFailure), problems: checked.problems };
  const { name, email, policy } = checked;
  if ((await checkBreached(deps, policy.password)).breached) {
    return failure("password_too_common", { field: "password" });
  }
  const passwordHash = await hashPassword(policy.password, {
    memoryKib: deps.config.limits.argon2MemoryKib,
    iterations: deps.config.limits.argon2Iterations,
  });
  const existing = await findAccountByEmail(deps.db, email);
  const now = deps.clock.now();
  const id = newId(deps.random, "reg");
  const expiresAt = new Date(now.getTime() + deps.config.limits.emailCodeLifetimeSeconds * 1000);

  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("registration")
      .values({
        id,
        email,
        name,
        password_hash: passwordHash,
        locale: input.locale,
        state: "code_sent",
        email_taken: existing ? 1 : 0,
        account_id: null,
        expires_at: expiresAt.toISOString(),
        created_at: now.toISOString(),
      })
      .execute();
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId: id,
        purpose: "registration",
        channel: "email",
        destination: email,
        decoy: existing !== undefined,
      },
      codeRulesFor(deps, "email"),
    );
    if (!issued.ok) throw new Error("a new registration cannot be in cooldown");
    if (existing) {
      await queueMessage(trx, deps, "email", existing.email, existing.locale, {
        kind: "registration_existing_account",
        name: existing.name,
        signInUrl: new URL("/sign-in", deps.config.publicUrl).href,
        resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
      });
      await recordAuditEvent(trx, deps, {
        type: "account.registration_attempt_existing",
        accountId: existing.id,
        actor: "system",
        ip: meta.ip,
        userAgent: meta.userAgent,
      });
    } else {
      await queueMessage(trx, deps, "email", email, input.locale, {
        kind: "registration_code",
        code: issued.code,
        lifetimeMinutes: Math.ceil(deps.config.limits.emailCodeLifetimeSeconds / 60),
      });
    }
  });
  deps.courier.wake();
  return { ok: true, registration: { id, email, expiresAt: expiresAt.toISOString() } };
}

type LiveRegistration = {
  id: string;
  email: string;
  name: string;
  locale: Locale;
  state: RegistrationState;
  email_taken: number;
  password_hash: string;
  expires_at: string;
};

async function findLiveRegistration(deps: Deps, id: string): Promise<LiveRegistration | FlowFailure> {
  const row = await deps.db.selectFrom("registration").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.state === "completed") return failure("registration_not_found");
  if (row.state === "exhausted")
    return failure("too_many_attempts", { retryAfterSeconds: secondsUntil(deps, row.expires_at) });
  if (row.expires_at <= deps.clock.now().toISOString()) return failure("code_expired", { field: "code" });
  return row;
}

/** Step 2: the code proves the mailbox; the account is created and signed in, in one transaction. */
export async function verifyRegistration(
  deps: Deps,
  id: string,
  code: string,
  meta: RequestMeta,
): Promise<CompletedRegistration | FlowFailure> {
  const registration = await findLiveRegistration(deps, id);
  if ("ok" in registration) return registration;
  const verdict = await verifyCode(deps.db, codeDepsFor(deps), id, code, codeRulesFor(deps, "email"));
  if (!verdict.ok) {
    // Out of tries: the flow is dead; the person starts again.
    return codeRefusal(deps, verdict, registration.expires_at, async () => {
      await deps.db
        .updateTable("registration")
        .set({ state: "exhausted" })
        .where("id", "=", id)
        .where("state", "=", "code_sent")
        .execute();
    });
  }

  const now = deps.clock.now();
  const accountId = newId(deps.random, "acc");
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("registration")
      .set({ state: "completed", account_id: accountId })
      .where("id", "=", id)
      .where("state", "=", "code_sent")
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return "state_conflict" as const;
    const inserted = await insertAccount(trx, {
      id: accountId,
      email: registration.email,
      name: registration.name,
      passwordHash: registration.password_hash,
      locale: registration.locale,
      now,
    });
    if (!inserted) return "email_taken" as const;
    const minted = await createSession(
      trx,
      { ...deps, limits: deps.config.limits },
      {
        accountId,
        factors: ["password", "email_code"],
        persistent: false,
        sessionType: "cookie",
        ip: meta.ip,
        userAgent: meta.userAgent,
      },
    );
    // The browser and place of the registration are the account's first known ones.
    await isNewSignInContext(trx, accountId, await signInContextOf(meta.ip, meta.userAgent), now);
    await recordAuditEvent(trx, deps, {
      type: "account.created",
      accountId,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    await queueMessage(trx, deps, "email", registration.email, registration.locale, {
      kind: "account_created",
      name: registration.name,
      securityUrl: new URL("/account/security", deps.config.publicUrl).href,
    });
    return minted;
  });
  if (outcome === "state_conflict") return failure("registration_not_found");
  // Two registrations for one address both verified: the person owns the mailbox, so saying so is safe.
  if (outcome === "email_taken") return failure("email_taken", { field: "email" });
  deps.courier.wake();
  const account = await findAccountById(deps.db, accountId);
  if (!account) throw new Error(`account ${accountId} vanished right after its creation`);
  return { ok: true, account, token: outcome.token, session: outcome.session };
}

/** Sends a new code (the old one dies), after the cooldown and within the cap on sends. */
export async function resendRegistrationCode(deps: Deps, id: string): Promise<{ ok: true } | FlowFailure> {
  const registration = await findLiveRegistration(deps, id);
  if ("ok" in registration) return registration;
  const result = await deps.db.transaction().execute(async (trx) => {
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId: id,
        purpose: "registration",
        channel: "email",
        destination: registration.email,
        decoy: registration.email_taken === 1,
      },
      codeRulesFor(deps, "email"),
    );
    if (!issued.ok) return issued;
    // The flow lives as long as its newest code.
    await trx
      .updateTable("registration")
      .set({ expires_at: issued.expiresAt.toISOString() })
      .where("id", "=", id)
      .execute();
    if (registration.email_taken === 0) {
      await queueMessage(trx, deps, "email", registration.email, registration.locale, {
        kind: "registration_code",
        code: issued.code,
        lifetimeMinutes: Math.ceil(deps.config.limits.emailCodeLifetimeSeconds / 60),
      });
    }
    return issued;
  });
  if (!result.ok) return resendRefusal(deps, result, registration.expires_at);
  deps.courier.wake();
  return { ok: true };
}
