import type { Generated } from "kysely";

// Times are ISO 8601 UTC strings with milliseconds (`Date#toISOString()`) on both SQLite and
// PostgreSQL: one representation, lexically ordered, so `where expires_at > now` works alike.
// Booleans are 0/1 integers for the same reason.

export type AccountStatus = "active" | "suspended" | "closed";
export type LocaleColumn = "ja" | "en";

export type AccountTable = {
  id: string;
  email: string;
  email_verified_at: string | null;
  name: string;
  phone: string | null;
  phone_verified_at: string | null;
  password_hash: string | null;
  password_changed_at: string | null;
  locale: LocaleColumn;
  status: AccountStatus;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
  /** When two-step verification was turned on; null while it is off. */
  two_step_enabled_at: string | null;
  /** When the account was closed (by its owner or the operator); null while it is not (migration 014). */
  closed_at: string | null;
  /** When housekeeping erases a closed account's personal data (the end of the grace period). */
  erase_after: string | null;
  /** When its personal data was erased: only its id and times are left, and it cannot be reopened. */
  erased_at: string | null;
  /** Why the account has its mobile number (migration 013): its own, or an SMS two-step method's. */
  phone_source: PhoneSource | null;
};

export type PhoneSource = "account" | "two_step";

export type RegistrationState = "code_sent" | "completed" | "exhausted";

export type RegistrationTable = {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  locale: LocaleColumn;
  state: RegistrationState;
  /** 1 when the email already belongs to an account: the flow looks the same but can never complete. */
  email_taken: number;
  account_id: string | null;
  expires_at: string;
  created_at: string;
};

export type CodePurpose =
  | "registration"
  | "password_reset"
  | "email_reminder"
  | "phone_verification"
  | "sign_in"
  | "two_step_recovery"
  | "email_change";

/** A one-time code sent by email, SMS or voice; one live code per flow, a newer one voids it. */
export type VerificationCodeTable = {
  id: string;
  flow_id: string;
  purpose: CodePurpose;
  channel: "email" | "sms" | "voice";
  destination: string;
  /** HMAC-SHA-256 of the code under the current secret key: a 6-digit code is too small to hash bare. */
  code_hash: string | null;
  attempts: number;
  sends: number;
  last_sent_at: string;
  expires_at: string;
  consumed_at: string | null;
  created_at: string;
};

export type SignInState = "second_factor_required" | "completed" | "expired";

export type SignInFlowTable = {
  id: string;
  account_id: string;
  state: SignInState;
  factors: string;
  persistent: number;
  session_type: "cookie" | "token";
  attempts: number;
  ip: string | null;
  user_agent: string | null;
  expires_at: string;
  created_at: string;
  /** The two-step method the flow is waiting for (second_factor_required). */
  method_id: string | null;
};

export type SessionTable = {
  id: string;
  /** SHA-256 of the secret half of the `id.secret` token; the secret itself is never stored. */
  secret_hash: string;
  account_id: string;
  aal: number;
  factors: string;
  persistent: number;
  session_type: "cookie" | "token";
  created_at: string;
  last_seen_at: string;
  authenticated_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  revoked_at: string | null;
  ip: string | null;
  user_agent: string | null;
  /** When this session last proved a second factor (sign-in or step-up). */
  second_factor_at: string | null;
};

/** `voided`: a newer reset for the account, or a completed one, ended this flow. */
export type PasswordResetState = "code_sent" | "code_verified" | "completed" | "exhausted" | "voided";

export type PasswordResetTable = {
  id: string;
  /** Null for a decoy flow (no active account has the identifier): it answers alike and never completes. */
  account_id: string | null;
  state: PasswordResetState;
  email: string | null;
  locale: LocaleColumn;
  expires_at: string;
  verified_at: string | null;
  completed_at: string | null;
  ip: string | null;
  created_at: string;
};

/** Every password an account has had (argon2id hashes), to refuse the last few again. */
export type PasswordHistoryTable = {
  id: string;
  account_id: string;
  /** 1, 2, 3… per account, in the order the passwords were set. */
  sequence: number;
  password_hash: string;
  created_at: string;
};

export type EmailReminderState = "code_sent" | "completed" | "exhausted";

export type EmailReminderTable = {
  id: string;
  /** Null for a decoy flow: it answers alike, sends nothing, and never completes. */
  account_id: string | null;
  phone: string;
  state: EmailReminderState;
  locale: LocaleColumn;
  expires_at: string;
  ip: string | null;
  created_at: string;
};

export type TwoStepMethodKind = "sms" | "voice" | "totp";

/** A way to prove the second factor. `pending` until a code from it was entered once. */
export type TwoStepMethodTable = {
  id: string;
  account_id: string;
  role: "primary" | "backup";
  method: TwoStepMethodKind;
  state: "pending" | "active";
  /** E.164, for sms and voice. */
  phone: string | null;
  /** AES-256-GCM under MAMORI_SECRET_KEYS (src/crypto/encryption.ts), for totp. */
  totp_secret: string | null;
  /** The last 30-second step whose code was accepted: a code works once. */
  totp_last_step: number | null;
  created_at: string;
  verified_at: string | null;
  last_used_at: string | null;
};

export type RecoveryCodeTable = {
  id: string;
  account_id: string;
  /** HMAC-SHA-256 under the server key; the code itself is shown once. */
  code_hash: string;
  used_at: string | null;
  created_at: string;
};

/** "Don't ask for codes on this browser": skips the second factor only, never the password. */
export type TrustedDeviceTable = {
  id: string;
  account_id: string;
  secret_hash: string;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  revoked_at: string | null;
};

/** Password failures in a row for one sign-in identifier (known or not), and the pause they caused. */
export type SignInLockoutTable = {
  key: string;
  failures: number;
  /** 0 before any pause; 1, 2, 3, 4 for pauses of 1, 5, 15 and 60 minutes. */
  level: number;
  paused_until: string | null;
  updated_at: string;
};

/** A browser (as its owner would name it) and a country an account has signed in from. */
export type SignInContextTable = {
  account_id: string;
  browser: string;
  /** ISO 3166 code, or "private" (the shop's own network) or "unknown". */
  country: string;
  first_seen_at: string;
  last_seen_at: string;
};

/** A passkey (WebAuthn credential, attestation "none"). Only its public key is stored. */
export type PasskeyTable = {
  id: string;
  account_id: string;
  /** base64url, as the browser names the credential. */
  credential_id: string;
  /** base64url of the COSE public key. */
  public_key: string;
  /** The authenticator's signature counter (bigint: PostgreSQL hands it back as a string). */
  sign_count: number | string;
  /** JSON array of transports ("internal", "hybrid", "usb", …). */
  transports: string;
  aaguid: string;
  /** 1 when the passkey may be synced to other devices (BE flag), and whether it is (BS flag). */
  backup_eligible: number;
  backed_up: number;
  /** 1 when the authenticator verified the person (PIN, fingerprint) at registration. */
  user_verified: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
};

export type PasskeyChallengePurpose =
  | "registration"
  | "authentication"
  | "reauthentication"
  /** A registration by conditional create (WebAuthn L3): its answer may lack user presence. */
  | "conditional_registration";

/**
 * A WebAuthn challenge: random, single use, short-lived; tied to an account or a waiting sign-in,
 * and a reauthentication's to the session that asked (migration 009).
 */
export type PasskeyChallengeTable = {
  id: string;
  purpose: PasskeyChallengePurpose;
  /** base64url of 32 random bytes. */
  challenge: string;
  account_id: string | null;
  sign_in_flow_id: string | null;
  session_id: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
};

/**
 * `failed`: every attempt failed (an operator may retry it); `expired`: a failed message whose
 * security code had expired when an operator retried it, so it is never sent.
 */
export type OutboxState = "pending" | "sending" | "sent" | "failed" | "expired";
export type Channel = "email" | "sms" | "voice";
/** What an outbox row carries: a message on a channel, or a shop's Back-Channel Logout token. */
export type OutboxChannel = Channel | "oidc_logout";

export type OutboxMessageTable = {
  id: string;
  channel: OutboxChannel;
  recipient: string;
  template: string;
  locale: LocaleColumn;
  subject: string | null;
  text_body: string;
  html_body: string | null;
  /** The code in the message, kept only when the development outbox is on (it shows it). */
  dev_code: string | null;
  /** When the message's security code stops working; null when it carries none. */
  code_expires_at: string | null;
  state: OutboxState;
  attempts: number;
  next_attempt_at: string;
  lease_expires_at: string | null;
  leased_by: string | null;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
};

export type AuditEventTable = {
  id: string;
  account_id: string | null;
  type: string;
  actor: "account" | "operator" | "system";
  ip: string | null;
  user_agent: string | null;
  detail: string;
  created_at: string;
};

export type StaffRole = "support" | "admin";
/** `invited` until the person set a password and an authenticator app through their enrolment link. */
export type StaffStatus = "invited" | "active" | "disabled";

/** A member of the shop's staff who uses the operator console; never a customer account. */
export type StaffAccountTable = {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  status: StaffStatus;
  password_hash: string | null;
  /** The authenticator app's secret, encrypted with the secret keys (purpose `staff-totp`). */
  totp_secret: string | null;
  totp_last_step: number | null;
  /** SHA-256 of the single-use enrolment token; null once used. */
  enrol_token_hash: string | null;
  enrol_expires_at: string | null;
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
};

export type StaffSessionTable = {
  id: string;
  token_hash: string;
  staff_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
  ip: string | null;
  user_agent: string | null;
};

/** What a member of staff did, with the reason they gave: their own trail. */
export type StaffActionTable = {
  id: string;
  staff_id: string;
  action: string;
  account_id: string | null;
  reason: string;
  ip: string | null;
  user_agent: string | null;
  detail: string;
  created_at: string;
};

export type WebhookEndpointTable = {
  id: string;
  url: string;
  /** A JSON array of webhook event types, or `["*"]` for every event. */
  events: string;
  /** 1: the payload also carries the account's email and name (docs/webhooks.md). */
  personal_data: number;
  secret_encrypted: string;
  /** The secret before the last rotation: it still signs beside the new one until `previous_secret_until`. */
  previous_secret_encrypted: string | null;
  previous_secret_until: string | null;
  created_at: string;
};

/** `cancelled`: its endpoint was removed before it was sent. */
export type WebhookDeliveryState = "pending" | "sending" | "sent" | "failed" | "cancelled";

export type WebhookDeliveryTable = {
  /** The message's `webhook-id`: the same on every attempt, so receivers drop repeats by it. */
  id: string;
  endpoint_id: string;
  event_type: string;
  account_id: string | null;
  audit_event_id: string;
  /** The exact JSON sent: the same bytes on every attempt. */
  body: string;
  state: WebhookDeliveryState;
  attempts: number;
  next_attempt_at: string;
  lease_expires_at: string | null;
  leased_by: string | null;
  last_error: string | null;
  /** The HTTP status of the last answer; null when there was none (refused, timed out). */
  last_status: number | null;
  created_at: string;
  sent_at: string | null;
};

export type SettingTable = {
  key: string;
  value: string;
  updated_at: string;
};

export type ThrottleCounterTable = {
  key: string;
  window_started_at: string;
  hits: number;
  expires_at: string;
};

export type MigrationTable = {
  id: string;
  applied_at: string;
};

/** One artefact of the OpenID Connect provider (code, token, grant, interaction, its session…), as JSON. */
export type OidcModelTable = {
  /** oidc-provider's model name: AuthorizationCode, AccessToken, RefreshToken, Grant, Session, … */
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  /** The client it was issued to, when it names one. */
  client_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: string | null;
  consumed_at: string | null;
  /** The account a grant, code, token or provider session belongs to (migration 010). */
  account_id: string | null;
  /** On a grant: when a code or token was last issued under it (Mamori's clock; migration 010). */
  used_at: string | null;
  /**
   * On a code or token: the Mamori session it was issued in; it works only while that session is
   * not revoked (migration 011). The row's `id` is then the SHA-256 of the code or token.
   */
  mamori_session_id: string | null;
  /** On a code or token: when it was issued (Mamori's clock; migration 011). */
  issued_at: string | null;
};

/** A shop's site or app registered with `mamori clients create`. */
export type OidcClientTable = {
  id: string;
  name: string;
  /** The client secret, AES-256-GCM under MAMORI_SECRET_KEYS (oidc-provider compares it in plain). */
  secret_encrypted: string;
  /** JSON arrays of absolute URLs. */
  redirect_uris: string;
  post_logout_redirect_uris: string;
  /** 1: every sign-in for this client needs two-step verification (acr urn:mamori:aal2). */
  require_two_step: number;
  created_at: string;
  /** 1: a public client of the Device Authorization Grant, without a secret (migration 017). */
  device_flow: Generated<number>;
  /** Where the shop receives Back-Channel Logout tokens (migration 016); null: none are sent. */
  backchannel_logout_uri: string | null;
  /** 1: a public client (a single-page or phone app): no secret, PKCE only (migration 016). */
  public_client: Generated<number>;
};

/** A shop's sign-in from a Mamori session, under the ID token's `sid` (migration 016). */
export type OidcLogoutTargetTable = {
  client_id: string;
  sid: string;
  account_id: string;
  mamori_session_id: string;
  created_at: string;
};

export type OidcSigningKeyState = "current" | "previous" | "retired";

/** A key that signs ID tokens: the current one signs, the previous one is still published. */
export type OidcSigningKeyTable = {
  id: string;
  private_jwk_encrypted: string;
  state: OidcSigningKeyState;
  created_at: string;
  retired_at: string | null;
};

/**
 * "I can't receive my two-step codes" (migration 015): `code_sent` until the mailed code and the
 * password are proven, then `waiting` until `completes_at`, when two-step is turned off
 * (`completed`), unless the owner cancels it first (`cancelled`). `voided`: a newer start replaced it.
 */
export type TwoStepRecoveryState =
  | "code_sent"
  | "waiting"
  | "completed"
  | "cancelled"
  | "exhausted"
  | "voided";

export type TwoStepRecoveryTable = {
  id: string;
  account_id: string;
  state: TwoStepRecoveryState;
  /** `account`: from the sign-in page; `operator`: `mamori accounts reset-two-step`. */
  started_by: "account" | "operator";
  /** The operator's reason (audited and mailed); null when the customer started it. */
  reason: string | null;
  /** When the mailed code stops working (the `code_sent` step's deadline). */
  code_expires_at: string;
  /** When the wait ends and two-step is turned off; set on entering `waiting`. */
  completes_at: string | null;
  /** SHA-256 of the secret of the single-use cancel link sent by mail and SMS. */
  cancel_token_hash: string | null;
  /** Who ended it: owner_session, cancel_link, second_factor_sign_in, operator, wait_over. */
  ended_by: string | null;
  ended_at: string | null;
  /** When the owner was shown "set up two-step again" after it completed. */
  prompted_at: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
};

export type ProfileChangeKind = "email" | "phone" | "phone_removal";

/** A change of the email address or the mobile number, waiting for the code sent to confirm it. */
export type ProfileChangeTable = {
  id: string;
  account_id: string;
  kind: ProfileChangeKind;
  value: string;
  state: "code_sent" | "completed" | "exhausted";
  taken: number;
  expires_at: string;
  created_at: string;
  completed_at: string | null;
};

/** The "this wasn't me" link mailed to the old address after an email change. */
export type EmailChangeUndoTable = {
  id: string;
  account_id: string;
  token_hash: string;
  old_email: string;
  new_email: string;
  expires_at: string;
  used_at: string | null;
  created_at: string;
};

export type Schema = {
  account: AccountTable;
  registration: RegistrationTable;
  verification_code: VerificationCodeTable;
  sign_in_flow: SignInFlowTable;
  password_reset: PasswordResetTable;
  password_history: PasswordHistoryTable;
  email_reminder: EmailReminderTable;
  two_step_method: TwoStepMethodTable;
  recovery_code: RecoveryCodeTable;
  trusted_device: TrustedDeviceTable;
  sign_in_lockout: SignInLockoutTable;
  sign_in_context: SignInContextTable;
  passkey: PasskeyTable;
  passkey_challenge: PasskeyChallengeTable;
  session: SessionTable;
  outbox_message: OutboxMessageTable;
  audit_event: AuditEventTable;
  staff_account: StaffAccountTable;
  staff_session: StaffSessionTable;
  staff_action: StaffActionTable;
  setting: SettingTable;
  throttle_counter: ThrottleCounterTable;
  mamori_migration: MigrationTable;
  oidc_model: OidcModelTable;
  oidc_client: OidcClientTable;
  oidc_logout_target: OidcLogoutTargetTable;
  oidc_signing_key: OidcSigningKeyTable;
  two_step_recovery: TwoStepRecoveryTable;
  webhook_endpoint: WebhookEndpointTable;
  webhook_delivery: WebhookDeliveryTable;
  profile_change: ProfileChangeTable;
  email_change_undo: EmailChangeUndoTable;
  federated_identity: FederatedIdentityTable;
  federation_flow: FederationFlowTable;
};

export type { Generated };

/** An account's link to one person at one OpenID Connect provider (migration 020). */
export type FederatedIdentityTable = {
  id: string;
  provider: string;
  /** The provider's `sub`: stable for that person at that provider. */
  subject: string;
  account_id: string;
  /** The email the provider gave when it was linked, if any (shown in the list, never trusted). */
  email: string | null;
  created_at: string;
  last_used_at: string | null;
};

export type FederationFlowState = "started" | "email_needed" | "code_sent" | "completed";

/** One trip to a provider and back (migration 020); `id` is the OAuth `state`. */
export type FederationFlowTable = {
  id: string;
  provider: string;
  purpose: "sign_in" | "link" | "reauth";
  state: FederationFlowState;
  /** The account a `link` flow adds the provider to, or whose owner a `reauth` flow proves again. */
  account_id: string | null;
  /** The session a `link` or `reauth` flow was started from: only it gets the result. */
  session_id: string | null;
  code_verifier: string;
  nonce: string;
  return_to: string;
  keep_signed_in: number;
  locale: LocaleColumn;
  /** Set by the callback when the provider gave no verified email: who came back, and their name. */
  subject: string | null;
  name: string | null;
  /** The email the person entered, to be proven by a code. */
  email: string | null;
  expires_at: string;
  created_at: string;
};
