import { parseArgs } from "node:util";
import { listAuditEvents, recordAuditEvent } from "../audit/audit.ts";
import { type Config, ConfigError, loadConfig, readConfigSource } from "../config/config.ts";
import { failedMessageIds, listOutboxMessages, retryFailedMessages } from "../courier/outbox-admin.ts";
import { newSecret } from "../crypto/secrets.ts";
import type { AccountStatus } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { isLocale } from "../i18n/locale.ts";
import { createDeps, serve } from "../main.ts";
import {
  type AdminFailure,
  changeAccountStatus,
  createAccountAsOperator,
  describeAccount,
  findAccountForOperator,
  resetTwoStepAsOperator,
  type TwoStepResetFailure,
} from "../operations/account-admin.ts";
import { serveWithWorkers } from "../operations/cluster.ts";
import { runHousekeeping } from "../operations/housekeeping.ts";
import { readMaintenanceMode, setMaintenanceMode } from "../operations/maintenance.ts";
import { expectedEndText } from "../operations/maintenance-page.ts";
import { oidcUsage, runClients, runOidc } from "./oidc-commands.ts";
import { runPasswordsCli } from "./passwords.ts";
import { runStaff, staffUsage } from "./staff-commands.ts";
import { runWebhooks, webhookUsage } from "./webhook-commands.ts";

/** `mamori <command>`: the operator's tool. Exit 0 done, 1 refused (not found, invalid), 2 usage. */
const usage = `Usage: mamori <command>

  serve [--workers N]                      serve HTTP and deliver mail (as npm start); N processes
                                           on this machine share the port (default 1)
  migrate                                  apply database migrations, then exit
  accounts create --email E --name N [--locale ja|en] [--password-stdin]
                                           create a verified account (a strong password is
                                           generated and printed once unless read from stdin)
  accounts show <id|email>                 the account (never its password hash) as JSON
  accounts suspend <id|email> --reason R   suspend: signed out everywhere, cannot sign in
  accounts close <id|email> --reason R     close the account
  accounts reopen <id|email> [--reason R]  make a suspended or closed account active again (a closed
                                           one only until its data is erased, MAMORI_ACCOUNT_ERASURE_GRACE_SECONDS)
  accounts reset-two-step <id|email> --reason R [--now]
                                           turn two-step off for a customer who lost every second
                                           factor: after the waiting period (the owner is told on
                                           every channel and can cancel), or at once with --now
  maintenance on --message M [--message-en M] [--retry-after SECONDS]
                                           sign-in, registration and reset answer 503; the page
                                           apologises, shows the message in the reader's language
                                           (Japanese --message, English --message-en) and the
                                           expected end (now + --retry-after, default 600)
  maintenance off | status
  audit --account <id|email> [--limit N]   the account's security events, newest first (JSON lines)
  outbox list [--failed] [--limit N]       outbox messages, newest first (JSON lines); --failed: only
                                           those that failed their last attempt
  outbox retry <id…> | --all-failed        queue failed messages again (a message whose security
                                           code has expired is marked expired, never sent)
  purge                                    delete now what serve deletes every 10 minutes:
                                           registrations whose code expired, with their password hashes,
                                           and closed accounts whose grace period has ended
  passwords [--length N] [--count N] [--no-symbols] [--passphrase --words N] [--format txt|csv|json]
                                           generate passwords (mamori passwords --help for all options)
${oidcUsage}
${staffUsage}
${webhookUsage}

Configuration comes from the environment (DATABASE_URL, …), as for serve.
`;

export class UsageError extends Error {}

type Output = { out(text: string): void; err(text: string): void };

const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const options = {
  email: { type: "string" },
  name: { type: "string" },
  locale: { type: "string" },
  reason: { type: "string" },
  message: { type: "string" },
  "message-en": { type: "string" },
  "retry-after": { type: "string" },
  "password-stdin": { type: "boolean" },
  account: { type: "string" },
  workers: { type: "string" },
  limit: { type: "string" },
  failed: { type: "boolean" },
  "all-failed": { type: "boolean" },
  "redirect-uri": { type: "string", multiple: true },
  "post-logout-redirect-uri": { type: "string", multiple: true },
  "require-two-step": { type: "boolean" },
  role: { type: "string" },
  device: { type: "boolean" },
  now: { type: "boolean" },
  events: { type: "string" },
  "personal-data": { type: "boolean" },
  "backchannel-logout-uri": { type: "string" },
  public: { type: "boolean" },
  "client-uri": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs one command; returns the exit status. `serve` never returns while the server runs. */
export async function runCli(argv: readonly string[], output: Output = processOutput): Promise<number> {
  // Its own options, and no database: generating passwords needs only the configured policy.
  if (argv[0] === "passwords") return runPasswordsCli(argv.slice(1), output);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const [command, sub, target, ...rest] = parsed.positionals;
  if (parsed.values.help || !command) {
    output.out(usage);
    return command || parsed.values.help ? 0 : 2;
  }
  let config: Config;
  try {
    // The CLI's own output is its result; the log only speaks up for warnings.
    const source = readConfigSource(process.env);
    config = loadConfig({ ...source, LOG_LEVEL: source.LOG_LEVEL ?? (command === "serve" ? "" : "warn") });
  } catch (error) {
    if (error instanceof ConfigError) {
      output.err(error.message);
      return 2;
    }
    throw error;
  }
  if (command === "serve") {
    const workersText = parsed.values.workers ?? "1";
    const workers = Number(workersText);
    if (!/^\d+$/.test(workersText) || workers < 1 || workers > 64) {
      output.err(`--workers must be a number from 1 to 64\n\n${usage}`);
      return 2;
    }
    if (workers === 1) await serve(config);
    else await serveWithWorkers(config, workers);
    return 0;
  }
  const deps = await createDeps(config);
  try {
    if (command === "migrate") {
      output.out("database is up to date");
      return 0;
    }
    if (command === "outbox")
      return await runOutbox(deps, parsed.positionals.slice(1), parsed.values, output);
    if (command === "webhooks") {
      const { events, "personal-data": personalData, failed, limit, ...others } = parsed.values;
      const misplaced = Object.keys(others).filter(
        (name) => others[name as keyof typeof others] !== undefined,
      );
      if (misplaced.length > 0) throw new UsageError(`webhooks does not take --${misplaced.join(", --")}`);
      return await runWebhooks(
        deps,
        parsed.positionals.slice(1),
        { events, "personal-data": personalData, failed, limit },
        output,
      );
    }
    if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
    if (command === "accounts") return await runAccounts(deps, sub, target, parsed.values, output);
    if (command === "clients") return await runClients(deps, sub, target, parsed.values, output);
    if (command === "oidc") return await runOidc(deps, sub, target, output);
    if (command === "staff") return await runStaff(deps, sub, target, parsed.values, output);
    if (command === "audit" && sub === undefined) return await runAudit(deps, parsed.values, output);
    if (command === "purge" && sub === undefined) {
      const purged = await runHousekeeping(deps);
      output.out(`expired registrations purged: ${purged.registrations}`);
      output.out(`closed accounts erased: ${purged.erasedAccounts}`);
      output.out(`two-step recoveries completed after their wait: ${purged.twoStepRecoveries}`);
      return 0;
    }
    if (command === "maintenance" && target === undefined) {
      return await runMaintenance(deps, sub, parsed.values, output);
    }
    throw new UsageError(`unknown command: ${parsed.positionals.join(" ")}`);
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`${error.message}\n\n${usage}`);
      return 2;
    }
    throw error;
  } finally {
    await deps.db.destroy();
  }
}

type Values = {
  email?: string | undefined;
  name?: string | undefined;
  locale?: string | undefined;
  reason?: string | undefined;
  message?: string | undefined;
  "message-en"?: string | undefined;
  "retry-after"?: string | undefined;
  "password-stdin"?: boolean | undefined;
  account?: string | undefined;
  limit?: string | undefined;
  failed?: boolean | undefined;
  "all-failed"?: boolean | undefined;
  now?: boolean | undefined;
};

const statusForVerb: Record<string, AccountStatus> = {
  suspend: "suspended",
  close: "closed",
  reopen: "active",
};

async function runAccounts(
  deps: Deps,
  verb: string | undefined,
  target: string | undefined,
  values: Values,
  output: Output,
): Promise<number> {
  if (verb === "create") {
    if (target !== undefined) throw new UsageError("accounts create takes --email and --name, no argument");
    if (!values.email || !values.name) throw new UsageError("accounts create needs --email and --name");
    const locale = values.locale ?? "ja";
    if (!isLocale(locale)) throw new UsageError("--locale must be ja or en");
    const fromStdin = values["password-stdin"] === true;
    // 20 characters of Crockford base32: 100 bits, and no look-alike characters to misread.
    const password = fromStdin ? await readPasswordFromStdin() : groupedPassword(newSecret(deps.random));
    const result = await createAccountAsOperator(deps, {
      email: values.email,
      name: values.name,
      password,
      locale,
    });
    if (!result.ok) return refused(result, output);
    output.out(JSON.stringify(await describeAccount(deps, result.account), null, 2));
    if (!fromStdin) output.out(`\nPassword (shown once; give it to the owner safely): ${password}`);
    return 0;
  }
  if (!target) throw new UsageError(`accounts ${verb ?? "<verb>"} needs an account id or email`);
  if (verb === "show") {
    const account = await findAccountForOperator(deps, target);
    if (!account) return refused({ ok: false, reason: "not_found" }, output);
    output.out(JSON.stringify(await describeAccount(deps, account), null, 2));
    return 0;
  }
  if (verb === "reset-two-step") return resetTwoStep(deps, target, values, output);
  if (values.now) throw new UsageError("--now goes only with accounts reset-two-step");
  const status = verb ? statusForVerb[verb] : undefined;
  if (!status) throw new UsageError(`unknown accounts command: ${verb ?? ""}`);
  const result = await changeAccountStatus(deps, target, status, values.reason ?? "");
  if (!result.ok) return refused(result, output);
  const revoked = result.sessionsRevoked > 0 ? `; ${result.sessionsRevoked} session(s) signed out` : "";
  output.out(`${result.account.email} is now ${result.account.status}${revoked}; the owner is mailed`);
  return 0;
}

async function resetTwoStep(deps: Deps, target: string, values: Values, output: Output): Promise<number> {
  const result = await resetTwoStepAsOperator(deps, target, values.reason ?? "", values.now === true);
  if (!result.ok) {
    const messages: Record<TwoStepResetFailure["reason"], string> = {
      not_found: "no account has that id or email",
      reason_required: "--reason is required: it is audited and the owner is told why",
      two_step_off: "two-step verification is already off for this account",
      already_pending:
        "a two-step recovery is already waiting for this account (use --now to end it at once)",
    };
    output.err(`mamori: ${messages[result.reason]}`);
    return 1;
  }
  output.out(
    result.completesAt
      ? `${result.account.email}: two-step verification will be turned off at ${result.completesAt} unless the owner cancels; the owner is told by mail and SMS`
      : `${result.account.email}: two-step verification is off now; trusted browsers and sessions ended; the owner is mailed`,
  );
  return 0;
}

async function runMaintenance(deps: Deps, verb: string | undefined, values: Values, output: Output) {
  const now = deps.clock.now();
  if (verb === "status") {
    const mode = await readMaintenanceMode(deps.db);
    output.out(mode.on ? `maintenance is on: ${mode.message || "(default message)"}` : "maintenance is off");
    if (mode.on) output.out(maintenanceEndLine(mode.endsAt));
    return 0;
  }
  if (verb === "on") {
    const message = values.message?.trim() ?? "";
    if (!message) throw new UsageError("maintenance on needs --message (what people will read)");
    const retryText = values["retry-after"] ?? "600";
    const retryAfterSeconds = Number(retryText);
    if (!/^\d+$/.test(retryText) || retryAfterSeconds < 1 || retryAfterSeconds > 86_400) {
      throw new UsageError("--retry-after must be a number of seconds between 1 and 86400");
    }
    const messageEn = values["message-en"]?.trim() ?? "";
    await setMaintenanceMode(deps.db, { on: true, message, messageEn, retryAfterSeconds }, now);
    await recordAuditEvent(deps.db, deps, {
      type: "maintenance.on",
      accountId: null,
      actor: "operator",
      detail: { message, messageEn, retryAfterSeconds },
    });
    output.out("maintenance is on: sign-in, registration and password reset answer 503 on every process");
    output.out(maintenanceEndLine(new Date(now.getTime() + retryAfterSeconds * 1000).toISOString()));
    return 0;
  }
  if (verb === "off") {
    await setMaintenanceMode(deps.db, { on: false }, now);
    await recordAuditEvent(deps.db, deps, { type: "maintenance.off", accountId: null, actor: "operator" });
    output.out("maintenance is off");
    return 0;
  }
  throw new UsageError("maintenance needs on, off or status");
}

/** The expected end as the page shows it (Japan time) and as an instant. */
function maintenanceEndLine(endsAt: string): string {
  return `expected end: ${expectedEndText("ja", endsAt)} (Japan time; ${endsAt})`;
}

function parseLimit(values: Values, fallback: number): number {
  const limitText = values.limit ?? String(fallback);
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 10_000) {
    throw new UsageError("--limit must be a number from 1 to 10000");
  }
  return limit;
}

async function runOutbox(deps: Deps, args: string[], values: Values, output: Output): Promise<number> {
  const [verb, ...ids] = args;
  if (verb === "list") {
    if (ids.length > 0 || values["all-failed"])
      throw new UsageError("outbox list takes only --failed and --limit");
    const limit = parseLimit(values, 50);
    // One JSON object per line, as `audit` prints: readable, and `jq`/`grep` work on it.
    for (const message of await listOutboxMessages(deps, { failedOnly: values.failed === true, limit }))
      output.out(JSON.stringify(message));
    return 0;
  }
  if (verb === "retry") {
    const all = values["all-failed"] === true;
    if (all === ids.length > 0)
      throw new UsageError("outbox retry needs message ids or --all-failed (not both)");
    if (values.failed || values.limit) throw new UsageError("outbox retry takes ids or --all-failed only");
    const targets = all ? await failedMessageIds(deps) : ids;
    if (targets.length === 0) {
      output.out("no failed messages");
      return 0;
    }
    let refusedCount = 0;
    for (const result of await retryFailedMessages(deps, targets)) {
      if (result.outcome === "requeued") output.out(`${result.id}: queued again`);
      else if (result.outcome === "expired")
        output.out(
          `${result.id}: skipped, not sent: its security code expired at ${result.codeExpiredAt} (marked expired)`,
        );
      else {
        refusedCount++;
        output.err(
          result.outcome === "not_found"
            ? `mamori: ${result.id}: no such outbox message`
            : `mamori: ${result.id}: not a failed message (${result.state}); left as it is`,
        );
      }
    }
    return refusedCount > 0 ? 1 : 0;
  }
  throw new UsageError("outbox needs list or retry");
}

async function runAudit(deps: Deps, values: Values, output: Output): Promise<number> {
  if (!values.account) throw new UsageError("audit needs --account <id|email>");
  const limit = parseLimit(values, 50);
  const account = await findAccountForOperator(deps, values.account);
  if (!account) return refused({ ok: false, reason: "not_found" }, output);
  // One JSON object per line: readable, and `jq`/`grep` work on it.
  for (const event of await listAuditEvents(deps.db, account.id, limit)) output.out(JSON.stringify(event));
  return 0;
}

function refused(failure: AdminFailure, output: Output): number {
  const messages: Record<AdminFailure["reason"], string> = {
    not_found: "no account has that id or email",
    email_invalid: "--email is not a valid email address",
    name_invalid: "--name must be 1 to 100 characters without control characters",
    email_taken: "an account with that email already exists",
    password_rejected: "the password does not meet the password policy",
    already: "the account already has that status",
    reason_required: "--reason is required: the owner is told why",
    erased: "the account was closed and its personal data has been erased: it cannot be reopened",
    closed: "the account is closed: it can only be reopened (accounts reopen)",
  };
  const detail = failure.reason === "password_rejected" ? ` (${failure.problem.code})` : "";
  output.err(`mamori: ${messages[failure.reason]}${detail}`);
  return 1;
}

function groupedPassword(secret: string): string {
  return (secret.slice(0, 20).match(/.{5}/g) ?? []).join("-");
}

async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the shell's, not the password's.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
