import type { PasskeyChange } from "./passkey-templates.ts";
import type { ProfileChange } from "./profile-templates.ts";
import type { MessageTemplate } from "./templates.ts";
import type { TwoStepChange } from "./two-step-templates.ts";

// A test fixture: one sample of every mail a customer receives, shared by the tests that render
// them all (src/courier/brand-texts.test.ts, src/i18n/glossary.test.ts).

export const sampleUrl = "https://login.example.jp/account/security";
const twoStepChanges: Record<TwoStepChange, true> = {
  enabled: true,
  disabled: true,
  method_added: true,
  method_removed: true,
  recovery_codes_replaced: true,
  recovery_code_used: true,
  locked: true,
};
const passkeyChanges: Record<PasskeyChange, true> = { added: true, removed: true, clone_signal: true };
const profileChanges: Record<ProfileChange, true> = { name: true, phone_added: true, phone_removed: true };

// One sample of every kind; the Record makes a new kind without a sample a type error.
export const messageSamples: Record<MessageTemplate["kind"], MessageTemplate[]> = {
  registration_code: [{ kind: "registration_code", code: "012345", lifetimeMinutes: 15 }],
  registration_existing_account: [
    { kind: "registration_existing_account", name: "山田 花子", signInUrl: sampleUrl, resetUrl: sampleUrl },
  ],
  account_created: [{ kind: "account_created", name: "山田 花子", securityUrl: sampleUrl }],
  password_reset_code: [
    { kind: "password_reset_code", name: "山田 花子", code: "012345", lifetimeMinutes: 15 },
  ],
  password_changed: [
    { kind: "password_changed", name: "山田 花子", how: "reset", resetUrl: sampleUrl },
    { kind: "password_changed", name: "山田 花子", how: "change", resetUrl: sampleUrl },
  ],
  sign_in_paused: [{ kind: "sign_in_paused", name: "山田 花子", minutes: 15, resetUrl: sampleUrl }],
  new_sign_in: [
    {
      kind: "new_sign_in",
      name: "山田 花子",
      browser: "Safari (iPhone)",
      place: "東京",
      time: "2031/04/01 18:00",
      securityUrl: sampleUrl,
    },
  ],
  two_step_changed: Object.keys(twoStepChanges).map((change) => ({
    kind: "two_step_changed" as const,
    name: "山田 花子",
    change: change as TwoStepChange,
    method: "SMS ***-****-5678",
    left: 1,
    securityUrl: sampleUrl,
  })),
  passkey_changed: Object.keys(passkeyChanges).map((change) => ({
    kind: "passkey_changed" as const,
    name: "山田 花子",
    change: change as PasskeyChange,
    passkey: "Chrome (Mac)",
    securityUrl: sampleUrl,
  })),
  connected_app_removed: [
    { kind: "connected_app_removed", name: "山田 花子", app: "やまだ商店", securityUrl: sampleUrl },
  ],
  two_step_recovery_code: [
    { kind: "two_step_recovery_code", name: "山田 花子", code: "012345", lifetimeMinutes: 15 },
  ],
  two_step_recovery_started: (["account", "operator"] as const).map((startedBy) => ({
    kind: "two_step_recovery_started" as const,
    name: "山田 花子",
    completesAt: "2031/04/02 18:00",
    cancelUrl: sampleUrl,
    reason: "電話で確認",
    startedBy,
  })),
  two_step_recovery_cancelled: [
    { kind: "two_step_recovery_cancelled", name: "山田 花子", securityUrl: sampleUrl },
  ],
  two_step_recovery_completed: (["yes", "no"] as const).map((immediate) => ({
    kind: "two_step_recovery_completed" as const,
    name: "山田 花子",
    securityUrl: sampleUrl,
    immediate,
  })),
  federation_linked: [
    { kind: "federation_linked", name: "山田 花子", provider: "LINE", securityUrl: sampleUrl },
  ],
  federation_unlinked: [
    { kind: "federation_unlinked", name: "山田 花子", provider: "LINE", securityUrl: sampleUrl },
  ],
  account_status_changed: (["suspended", "closed", "active"] as const).map((status) => ({
    kind: "account_status_changed" as const,
    name: "山田 花子",
    status,
    reason: "ご本人からの連絡",
  })),
  signed_out_by_support: [
    { kind: "signed_out_by_support", name: "山田 花子", reason: "紛失", resetUrl: sampleUrl },
  ],
  account_closed_by_owner: [
    { kind: "account_closed_by_owner", name: "山田 花子", time: "2031/04/01 18:00", eraseOn: "2031/05/01" },
  ],
  password_reset_blocked: (["suspended", "closed"] as const).map((status) => ({
    kind: "password_reset_blocked" as const,
    name: "山田 花子",
    status,
  })),
  sign_in_country_refused: [
    {
      kind: "sign_in_country_refused",
      name: "山田 花子",
      place: "米国",
      time: "2031/04/01 18:00",
      resetUrl: sampleUrl,
    },
  ],
  email_change_code: [{ kind: "email_change_code", name: "山田 花子", code: "012345", lifetimeMinutes: 15 }],
  email_change_taken: [{ kind: "email_change_taken", name: "山田 花子", securityUrl: sampleUrl }],
  email_changed: [
    { kind: "email_changed", name: "山田 花子", newEmail: "h***@example.jp", undoUrl: sampleUrl, days: 7 },
  ],
  email_change_undone: [{ kind: "email_change_undone", name: "山田 花子", resetUrl: sampleUrl }],
  profile_changed: Object.keys(profileChanges).map((change) => ({
    kind: "profile_changed" as const,
    name: "山田 花子",
    change: change as ProfileChange,
    phone: "***-****-5678",
    securityUrl: sampleUrl,
  })),
  phone_moved: [{ kind: "phone_moved", name: "山田 花子", phone: "***-****-5678", securityUrl: sampleUrl }],
};
