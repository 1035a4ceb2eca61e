import type { Locale } from "../config/config.ts";
import { errorMessages } from "../i18n/error-messages.ts";
import { format } from "../i18n/locale.ts";

/** The registry of public error codes: code -> HTTP status. Codes are stable API (shared/API.md). */
export const errorStatuses = {
  invalid_request: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_found: 404,
  unauthenticated: 401,
  csrf_failed: 403,
  name_invalid: 400,
  email_invalid: 400,
  password_too_short: 400,
  password_too_long: 400,
  password_too_common: 400,
  password_too_weak: 400,
  password_contains_identifier: 400,
  invalid_code: 400,
  code_expired: 410,
  too_many_attempts: 429,
  registration_not_found: 404,
  email_taken: 409,
  invalid_credentials: 401,
  account_suspended: 403,
  account_closed: 403,
  country_not_allowed: 403,
  maintenance: 503,
  throttle_unavailable: 503,
  database_unavailable: 503,
  challenge_expired: 410,
  reauthentication_required: 403,
  session_not_found: 404,
  password_reused: 400,
  password_reset_not_found: 404,
  code_not_verified: 409,
  phone_invalid: 400,
  phone_cannot_receive_sms: 400,
  phone_not_allowed: 400,
  method_conflict: 409,
  step_up_required: 403,
  insufficient_assurance: 403,
  two_step_not_enabled: 409,
  enrollment_not_found: 404,
  confirmation_required: 400,
  challenge_not_found: 404,
  two_step_recovery_not_found: 404,
  two_step_recovery_pending: 409,
  email_reminder_not_found: 404,
  passkey_not_found: 404,
  passkey_unknown_credential: 404,
  passkey_invalid: 400,
  passkey_clone_suspected: 403,
  passkey_last_sign_in_method: 409,
  app_not_found: 404,
  invalid_options: 400,
  email_unchanged: 400,
  profile_change_not_found: 404,
  undo_link_invalid: 410,
  internal_error: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorStatuses;

export type ErrorDetails = {
  field?: string;
  /** Extra public fields in the error body, such as `attemptsLeft`. */
  extra?: Record<string, string | number>;
  /** Sent as Retry-After (seconds) with 429 and 503. */
  retryAfterSeconds?: number;
  /** Replaces the translated message (the operator's maintenance message). */
  message?: string;
  /** Values for the message's placeholders. */
  values?: Record<string, string | number>;
};

/** An expected failure on its way to the client; routes throw it, the error handler renders it. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;
  constructor(code: ErrorCode, details: ErrorDetails = {}) {
    super(code);
    this.name = "ApiError";
    this.code = code;
    this.status = errorStatuses[code];
    this.details = details;
  }
}

export type ErrorBody = {
  error: { code: ErrorCode; message: string; field?: string } & Record<string, string | number>;
};

export function errorMessage(code: ErrorCode, locale: Locale, details: ErrorDetails = {}): string {
  if (details.message) return details.message;
  const values: Record<string, string | number> = { ...details.extra, ...details.values };
  if (details.retryAfterSeconds !== undefined) {
    values.retryAfterMinutes = Math.max(1, Math.ceil(details.retryAfterSeconds / 60));
  }
  return format(errorMessages[locale][code], values);
}

export function errorBody(error: ApiError, locale: Locale): ErrorBody {
  const body: ErrorBody = {
    error: {
      ...error.details.extra,
      code: error.code,
      message: errorMessage(error.code, locale, error.details),
    },
  };
  if (error.details.field) body.error.field = error.details.field;
  return body;
}
