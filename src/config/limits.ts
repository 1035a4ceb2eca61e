// Every lifetime, limit and cooldown, with its default, its bounds, and the narrower bounds
// production holds to (a test's 2-second code lifetime would be a hole there).

/** Every lifetime, limit and cooldown: configurable so black-box tests can run with tiny lifetimes. */
export type Limits = {
  emailCodeLifetimeSeconds: number;
  phoneCodeLifetimeSeconds: number;
  emailReminderRequestsPerPhone: number;
  codeMaxAttempts: number;
  codeResendCooldownSeconds: number;
  codeMaxSends: number;
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  browserSessionSeconds: number;
  reauthenticationWindowSeconds: number;
  /** How long the "this wasn't me" link mailed to the old address can undo an email change. */
  emailChangeUndoSeconds: number;
  passwordMinLength: number;
  passwordMaxLength: number;
  passwordMinScore: number;
  argon2MemoryKib: number;
  argon2Iterations: number;
  signInFailuresPerIdentifier: number;
  signInFailuresPerIp: number;
  signInFailureWindowSeconds: number;
  passwordHistoryCount: number;
  registrationsPerIpPerHour: number;
  passwordStrengthChecksPerIpPerMinute: number;
  passwordGenerationsPerIpPerMinute: number;
  passwordResetRequestsPerIdentifier: number;
  passwordResetRequestsPerIp: number;
  passwordResetWindowSeconds: number;
  trustedDeviceSeconds: number;
  twoStepFailuresPerAccount: number;
  phoneSendsPerNumberPerHour: number;
  phoneSendsPerAccountPerHour: number;
  phoneSendsPerIpPerHour: number;
  phoneSendsPerForeignCountryPerHour: number;
  phoneSendsGlobalPerHour: number;
  outboxMaxAttempts: number;
  outboxLeaseSeconds: number;
  /** The longest an SMTP send may take (connection, greeting, each reply, and the whole send). */
  smtpTimeoutSeconds: number;
  /** How long a closed account's personal data is kept (the operator may reopen it) before it is erased. */
  accountErasureGraceSeconds: number;
  /** How long a two-step recovery waits before two-step is turned off (the owner can cancel it meanwhile). */
  twoStepRecoveryWaitSeconds: number;
  /** Two-step recovery starts and failed proofs per account, and per IP address, per day. */
  twoStepRecoveryAttemptsPerAccount: number;
  twoStepRecoveryAttemptsPerIp: number;
};

type LimitRule = {
  key: keyof Limits;
  env: string;
  fallback: number;
  min: number;
  max: number;
  /** Narrower bounds enforced in production, where a test's tiny lifetime would be a hole. */
  production?: { min?: number; max?: number };
};

const DAY = 86_400;

// Defaults and reasons are in shared/DESIGN.md, "Security numbers".
const limitRules: readonly LimitRule[] = [
  // Lost every second factor: the wait is what stops someone holding the mailbox and the password
  // (the owner, told on every channel, cancels). Google, Microsoft and Amazon wait a day or more.
  {
    key: "twoStepRecoveryWaitSeconds",
    env: "MAMORI_TWO_STEP_RECOVERY_WAIT_SECONDS",
    fallback: DAY,
    min: 1,
    max: 30 * DAY,
    production: { min: 3600 },
  },
  {
    key: "twoStepRecoveryAttemptsPerAccount",
    env: "MAMORI_TWO_STEP_RECOVERY_ATTEMPTS_PER_ACCOUNT",
    fallback: 5,
    min: 1,
    max: 1000,
    production: { max: 20 },
  },
  {
    key: "twoStepRecoveryAttemptsPerIp",
    env: "MAMORI_TWO_STEP_RECOVERY_ATTEMPTS_PER_IP",
    fallback: 20,
    min: 1,
    max: 100_000,
  },
  {
    key: "emailCodeLifetimeSeconds",
    env: "MAMORI_EMAIL_CODE_LIFETIME_SECONDS",
    fallback: 900,
    min: 1,
    max: DAY,
    production: { min: 60, max: 3600 },
  },
  {
    key: "phoneCodeLifetimeSeconds",
    env: "MAMORI_PHONE_CODE_LIFETIME_SECONDS",
    fallback: 600,
    min: 1,
    max: 3600,
    production: { min: 60, max: 900 },
  },
  // Each request may cost an SMS: a low cap per number stops SMS pumping through "forgot email".
  {
    key: "emailReminderRequestsPerPhone",
    env: "MAMORI_EMAIL_REMINDER_REQUESTS_PER_PHONE",
    fallback: 3,
    min: 1,
    max: 1000,
    production: { max: 10 },
  },
  // 6 digits = ~20 bits: safe only because a code dies after a few wrong tries (NIST SP 800-63B 5.2.2).
  {
    key: "codeMaxAttempts",
    env: "MAMORI_CODE_MAX_ATTEMPTS",
    fallback: 5,
    min: 1,
    max: 100,
    production: { max: 10 },
  },
  {
    key: "codeResendCooldownSeconds",
    env: "MAMORI_CODE_RESEND_COOLDOWN_SECONDS",
    fallback: 60,
    min: 0,
    max: 3600,
    production: { min: 10 },
  },
  {
    key: "codeMaxSends",
    env: "MAMORI_CODE_MAX_SENDS",
    fallback: 5,
    min: 1,
    max: 50,
    production: { max: 10 },
  },
  {
    key: "sessionIdleSeconds",
    env: "MAMORI_SESSION_IDLE_SECONDS",
    fallback: 14 * DAY,
    min: 1,
    max: 365 * DAY,
    production: { min: 300 },
  },
  {
    key: "sessionAbsoluteSeconds",
    env: "MAMORI_SESSION_ABSOLUTE_SECONDS",
    fallback: 90 * DAY,
    min: 1,
    max: 400 * DAY,
    production: { min: 300 },
  },
  {
    key: "browserSessionSeconds",
    env: "MAMORI_BROWSER_SESSION_SECONDS",
    fallback: DAY,
    min: 1,
    max: 7 * DAY,
    production: { min: 300 },
  },
  {
    key: "reauthenticationWindowSeconds",
    env: "MAMORI_REAUTH_WINDOW_SECONDS",
    fallback: 600,
    min: 1,
    max: 3600,
    production: { max: 3600 },
  },
  {
    key: "emailChangeUndoSeconds",
    env: "MAMORI_EMAIL_CHANGE_UNDO_SECONDS",
    fallback: 7 * DAY,
    min: 1,
    max: 90 * DAY,
    production: { min: DAY },
  },
  {
    key: "passwordMinLength",
    env: "MAMORI_PASSWORD_MIN_LENGTH",
    fallback: 8,
    min: 1,
    max: 64,
    production: { min: 8 },
  },
  { key: "passwordMaxLength", env: "MAMORI_PASSWORD_MAX_LENGTH", fallback: 256, min: 64, max: 1024 },
  {
    key: "passwordMinScore",
    env: "MAMORI_PASSWORD_MIN_SCORE",
    fallback: 3,
    min: 0,
    max: 4,
    production: { min: 2 },
  },
  // OWASP's argon2id floor: m=19 MiB, t=2, p=1.
  {
    key: "argon2MemoryKib",
    env: "MAMORI_ARGON2_MEMORY_KIB",
    fallback: 19_456,
    min: 8,
    max: 1_048_576,
    production: { min: 19_456 },
  },
  {
    key: "argon2Iterations",
    env: "MAMORI_ARGON2_ITERATIONS",
    fallback: 2,
    min: 1,
    max: 20,
    production: { min: 2 },
  },
  {
    key: "signInFailuresPerIdentifier",
    env: "MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER",
    fallback: 10,
    min: 1,
    max: 1000,
    production: { max: 100 },
  },
  { key: "signInFailuresPerIp", env: "MAMORI_SIGN_IN_FAILURES_PER_IP", fallback: 100, min: 1, max: 100_000 },
  {
    key: "signInFailureWindowSeconds",
    env: "MAMORI_SIGN_IN_FAILURE_WINDOW_SECONDS",
    fallback: 900,
    min: 1,
    max: DAY,
    production: { min: 60 },
  },
  // "Not one of your last 5 passwords" (issue: forgot password); 0 turns the check off outside production.
  {
    key: "passwordHistoryCount",
    env: "MAMORI_PASSWORD_HISTORY_COUNT",
    fallback: 5,
    min: 0,
    max: 24,
    production: { min: 1 },
  },
  // Each registration hashes a password and sends a mail: both cost, both can be abused in bulk.
  {
    key: "registrationsPerIpPerHour",
    env: "MAMORI_REGISTRATIONS_PER_IP_PER_HOUR",
    fallback: 20,
    min: 1,
    max: 100_000,
  },
  // The strength meter asks on every pause in typing; each answer is up to ~35 ms of zxcvbn on the
  // event loop (its first 32 characters, src/passwords/strength.ts), so one address gets a
  // person's worth (two a second) and no more; src/passwords/strength-queue.ts keeps a burst
  // within that from holding the loop.
  {
    key: "passwordStrengthChecksPerIpPerMinute",
    env: "MAMORI_PASSWORD_STRENGTH_CHECKS_PER_IP_PER_MINUTE",
    fallback: 120,
    min: 1,
    max: 100_000,
  },
  {
    key: "passwordGenerationsPerIpPerMinute",
    env: "MAMORI_PASSWORD_GENERATIONS_PER_IP_PER_MINUTE",
    fallback: 120,
    min: 1,
    max: 100_000,
  },
  {
    key: "passwordResetRequestsPerIdentifier",
    env: "MAMORI_PASSWORD_RESET_REQUESTS_PER_IDENTIFIER",
    fallback: 5,
    min: 1,
    max: 1000,
    production: { max: 50 },
  },
  {
    key: "passwordResetRequestsPerIp",
    env: "MAMORI_PASSWORD_RESET_REQUESTS_PER_IP",
    fallback: 50,
    min: 1,
    max: 100_000,
  },
  {
    key: "passwordResetWindowSeconds",
    env: "MAMORI_PASSWORD_RESET_WINDOW_SECONDS",
    fallback: 3600,
    min: 1,
    max: DAY,
    production: { min: 60 },
  },
  {
    key: "trustedDeviceSeconds",
    env: "MAMORI_TRUSTED_DEVICE_SECONDS",
    fallback: 30 * DAY,
    min: 1,
    max: 90 * DAY,
    production: { min: 3600 },
  },
  // Wrong second-factor codes across all of an account's challenges before a temporary lock.
  {
    key: "twoStepFailuresPerAccount",
    env: "MAMORI_TWO_STEP_FAILURES_PER_ACCOUNT",
    fallback: 10,
    min: 1,
    max: 1000,
    production: { max: 50 },
  },
  // SMS pumping: every text or call costs money, so sends are capped per number, account, IP and
  // for the whole service per hour (a tripped global budget is logged as an alert).
  {
    key: "phoneSendsPerNumberPerHour",
    env: "MAMORI_PHONE_SENDS_PER_NUMBER_PER_HOUR",
    fallback: 10,
    min: 1,
    max: 1000,
  },
  {
    key: "phoneSendsPerAccountPerHour",
    env: "MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR",
    fallback: 20,
    min: 1,
    max: 1000,
  },
  {
    key: "phoneSendsPerIpPerHour",
    env: "MAMORI_PHONE_SENDS_PER_IP_PER_HOUR",
    fallback: 30,
    min: 1,
    max: 100_000,
  },
  // Pumping schemes favour foreign premium ranges: texts to each allowed foreign country (never
  // Japan, the shop's own) have a budget of their own, far below the global one.
  {
    key: "phoneSendsPerForeignCountryPerHour",
    env: "MAMORI_PHONE_SENDS_PER_FOREIGN_COUNTRY_PER_HOUR",
    fallback: 50,
    min: 1,
    max: 1_000_000,
  },
  {
    key: "phoneSendsGlobalPerHour",
    env: "MAMORI_PHONE_SENDS_GLOBAL_PER_HOUR",
    fallback: 1000,
    min: 1,
    max: 10_000_000,
  },
  { key: "outboxMaxAttempts", env: "MAMORI_OUTBOX_MAX_ATTEMPTS", fallback: 10, min: 1, max: 100 },
  { key: "outboxLeaseSeconds", env: "MAMORI_OUTBOX_LEASE_SECONDS", fallback: 60, min: 1, max: 3600 },
  { key: "smtpTimeoutSeconds", env: "MAMORI_SMTP_TIMEOUT_SECONDS", fallback: 20, min: 1, max: 600 },
  // A closed account is erased after this: long enough for "I closed it by mistake" to reach
  // support, short enough that nothing is kept without a reason (APPI art. 22, GDPR art. 5(1)(e)).
  {
    key: "accountErasureGraceSeconds",
    env: "MAMORI_ACCOUNT_ERASURE_GRACE_SECONDS",
    fallback: 30 * DAY,
    min: 1,
    max: 365 * DAY,
    production: { min: DAY },
  },
];

/** Reads every limit from the environment within its bounds; each problem is added to `problems`. */
export function parseLimits(
  source: Record<string, string | undefined>,
  production: boolean,
  problems: string[],
): Limits {
  const limits = {} as Limits;
  for (const rule of limitRules) {
    const min = production ? Math.max(rule.min, rule.production?.min ?? rule.min) : rule.min;
    const max = production ? Math.min(rule.max, rule.production?.max ?? rule.max) : rule.max;
    limits[rule.key] = parseInteger(rule.env, source[rule.env], rule.fallback, min, max, problems);
  }
  return limits;
}

export function parseInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (value === undefined || value.trim() === "") return fallback;
  if (!/^\d+$/.test(value.trim())) {
    problems.push(`${name} must be a whole number (got ${value})`);
    return fallback;
  }
  const n = Number(value);
  if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max} here (got ${n})`);
  return n;
}
