import type { AuditEventType } from "../audit/audit.ts";
import type { Locale } from "../config/config.ts";

// What the "sign-in activity" and "this wasn't me" pages say. The Japanese is the wording shoppers
// know from the big shops' security pages: ログイン履歴, 心当たりのないログイン.

/** Every event an account's history can hold (maintenance switches, outbox retries, webhook settings and signing keys belong to no account). */
export type AccountEventType = Exclude<
  AuditEventType,
  | "maintenance.on"
  | "maintenance.off"
  | "outbox.retried"
  | "outbox.expired"
  | `webhook.${string}`
  | "oidc.signing_keys_rotated"
>;

const ja = {
  title: "ログイン履歴",
  intro:
    "このアカウントへの最近のログインと、セキュリティ設定の変更です（新しい順）。場所はIPアドレスから推定したおおよその国です。",
  none: "履歴はまだありません。",
  unknownBrowser: "不明なブラウザ",
  ip: "IPアドレス: {ip}",
  notMe: "これは私ではありません",
  suspiciousTitle: "心当たりのないログインがありますか？",
  suspiciousHint:
    "パスワードが第三者に知られたおそれがあります。すべての端末からログアウトして、パスワードを再設定してください。",
  back: "ログインとセキュリティへ戻る",
  events: {
    "account.created": "アカウントの作成",
    "account.registration_attempt_existing": "登録済みのEメールアドレスでのアカウント作成",
    "account.suspended": "アカウントの停止",
    "account.closed": "アカウントの閉鎖",
    "account.reopened": "アカウントの再開",
    "sign_in.succeeded": "ログイン",
    "sign_in.failed": "ログインの失敗",
    "sign_in.second_factor_failed": "セキュリティコードの入力ミス",
    "session.revoked": "ログアウト",
    "session.revoked_others": "他の端末からログアウト",
    "session.revoked_by_support": "サポート担当者がすべての端末からログアウト",
    "session.reauthenticated": "パスワードの再確認",
    "session.stepped_up": "セキュリティコードでの本人確認",
    "session.reauthenticated_with_passkey": "パスキーでの本人確認",
    "password.rehashed": "パスワードの保存形式の更新",
    "password.changed": "パスワードの変更",
    "password_reset.requested": "パスワード再設定の申請",
    "password_reset.completed": "パスワードの再設定",
    "email_reminder.shown": "Eメールアドレスの確認（お忘れの場合）",
    "two_step.enabled": "2段階認証をオン",
    "two_step.disabled": "2段階認証をオフ",
    "two_step.method_added": "2段階認証の方法を追加",
    "two_step.method_removed": "2段階認証の方法を削除",
    "two_step.recovery_codes_replaced": "新しいリカバリーコードを作成",
    "two_step.recovery_code_used": "リカバリーコードを使用",
    "two_step.locked": "2段階認証の一時停止（コードの入力ミスが続いたため）",
    "trusted_device.added": "コードを要求しないブラウザを登録",
    "trusted_device.revoked": "コードを要求しないブラウザの登録を解除",
    "security.not_me": "心当たりのないログインを報告",
    "passkey.added": "パスキーを追加",
    "passkey.renamed": "パスキーの名前を変更",
    "passkey.removed": "パスキーを削除",
    "passkey.used": "パスキーを使用",
    "passkey.clone_signal": "複製の疑いがあるパスキーを拒否",
    "oidc.grant.revoked": "お店・アプリのアクセスを削除",
    "account.erased": "個人データの消去",
    "account.data_exported": "データのダウンロード",
    "sign_in.country_refused": "海外からのログインの拒否",
    "two_step_recovery.requested": "2段階認証の解除手続き: セキュリティコードを送信",
    "two_step_recovery.failed": "2段階認証の解除手続き: 確認に失敗",
    "two_step_recovery.started": "2段階認証の解除手続きを開始（待機中）",
    "two_step_recovery.cancelled": "2段階認証の解除手続きを取り消し",
    "two_step_recovery.completed": "2段階認証の解除手続きが完了",
    "account.name_changed": "氏名を変更",
    "account.email_change_requested": "Eメールアドレスの変更を開始",
    "account.email_changed": "Eメールアドレスを変更",
    "account.email_change_undone": "Eメールアドレスの変更を取り消し",
    "account.phone_added": "携帯電話番号を登録",
    "account.phone_removed": "携帯電話番号を削除",
    "federation.linked": "{provider}を連携",
    "federation.unlinked": "{provider}の連携を解除",
    "federation.signed_in": "{provider}で本人確認",
  } satisfies Record<AccountEventType, string>,
  otherEvent: "セキュリティに関する操作",
  confirm: {
    title: "心当たりのないログイン",
    reported: "報告するログイン",
    intro: "アカウントを守るため、次のことを行います。",
    signOut: "この端末を含む、すべての端末からログアウトします。",
    forgetBrowsers:
      "セキュリティコードを要求しないブラウザの登録をすべて解除します。次のログインでは、どのブラウザでも2段階認証のコードが必要です。",
    mailCode: "パスワードを再設定するためのセキュリティコードを{email}に送信します。",
    newPassword: "続けてこの端末でコードを入力し、新しいパスワードを設定してください。",
    submit: "すべての端末からログアウトしてパスワードを再設定",
    cancel: "キャンセル",
  },
  throttled: {
    title: "すべての端末からログアウトしました",
    body: "パスワード再設定の申請が短時間に続いたため、セキュリティコードを送信できませんでした。{minutes}分ほど待ってから、パスワードを再設定してください。",
    resetPassword: "パスワードを再設定",
  },
};

export type ActivityText = typeof ja;

const en: ActivityText = {
  title: "Sign-in activity",
  intro:
    "Recent sign-ins to this account and changes to its security settings, newest first. The place is the approximate country of the IP address.",
  none: "No activity yet.",
  unknownBrowser: "Unknown browser",
  ip: "IP address {ip}",
  notMe: "This wasn't me",
  suspiciousTitle: "See a sign-in you don't recognise?",
  suspiciousHint: "Someone else may know your password. Sign out everywhere and choose a new password.",
  back: "Back to Login & security",
  events: {
    "account.created": "Account created",
    "account.registration_attempt_existing": "Sign-up tried with your email address",
    "account.suspended": "Account suspended",
    "account.closed": "Account closed",
    "account.reopened": "Account reopened",
    "sign_in.succeeded": "Sign-in",
    "sign_in.failed": "Failed sign-in",
    "sign_in.second_factor_failed": "Wrong security code",
    "session.revoked": "Signed out",
    "session.revoked_others": "Signed out of other devices",
    "session.revoked_by_support": "Support signed you out on every device",
    "session.reauthenticated": "Password confirmed",
    "session.stepped_up": "Identity confirmed with a security code",
    "session.reauthenticated_with_passkey": "Identity confirmed with a passkey",
    "password.rehashed": "Password storage updated",
    "password.changed": "Password changed",
    "password_reset.requested": "Password reset requested",
    "password_reset.completed": "Password reset",
    "email_reminder.shown": "Email address looked up",
    "two_step.enabled": "Two-step verification turned on",
    "two_step.disabled": "Two-step verification turned off",
    "two_step.method_added": "Two-step method added",
    "two_step.method_removed": "Two-step method removed",
    "two_step.recovery_codes_replaced": "New recovery codes created",
    "two_step.recovery_code_used": "Recovery code used",
    "two_step.locked": "Two-step verification paused after wrong codes",
    "trusted_device.added": "Browser set not to ask for codes",
    "trusted_device.revoked": "Browser set to ask for codes again",
    "security.not_me": "Sign-in reported as not you",
    "passkey.added": "Passkey added",
    "passkey.renamed": "Passkey renamed",
    "passkey.removed": "Passkey removed",
    "passkey.used": "Passkey used",
    "passkey.clone_signal": "Possibly copied passkey refused",
    "oidc.grant.revoked": "A shop's access removed",
    "account.erased": "Personal data erased",
    "account.data_exported": "Your data downloaded",
    "sign_in.country_refused": "Sign-in from abroad refused",
    "two_step_recovery.requested": "Two-step recovery: code sent",
    "two_step_recovery.failed": "Two-step recovery: a proof failed",
    "two_step_recovery.started": "Two-step recovery started (waiting)",
    "two_step_recovery.cancelled": "Two-step recovery cancelled",
    "two_step_recovery.completed": "Two-step recovery completed",
    "account.name_changed": "Name changed",
    "account.email_change_requested": "Email address change started",
    "account.email_changed": "Email address changed",
    "account.email_change_undone": "Email address change undone",
    "account.phone_added": "Mobile number added",
    "account.phone_removed": "Mobile number removed",
    "federation.linked": "{provider} linked",
    "federation.unlinked": "{provider} unlinked",
    "federation.signed_in": "Confirmed with {provider}",
  },
  otherEvent: "Security activity",
  confirm: {
    title: "A sign-in that wasn't you",
    reported: "The sign-in you are reporting",
    intro: "To protect your account, we will:",
    signOut: "Sign you out on every device, this one included.",
    forgetBrowsers:
      "Forget every browser that doesn't ask for codes: the next sign-in anywhere needs a two-step code.",
    mailCode: "Send a security code for choosing a new password to {email}.",
    newPassword: "Then enter the code here and choose a new password.",
    submit: "Sign out everywhere and reset my password",
    cancel: "Cancel",
  },
  throttled: {
    title: "You were signed out everywhere",
    body: "Password resets were requested too often, so no security code was sent. Wait about {minutes} minute(s), then reset your password.",
    resetPassword: "Reset your password",
  },
};

export function activityText(locale: Locale): ActivityText {
  return locale === "en" ? en : ja;
}
