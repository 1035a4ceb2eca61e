import type { Brand } from "../config/brand-config.ts";
import type { Locale } from "../config/config.ts";
import type { SupportContact } from "../config/support-config.ts";
import { format } from "../i18n/locale.ts";
import { html } from "../views/html.ts";
import {
  type AccountClosingTemplate,
  accountClosingCopy,
  supportLines,
} from "./account-closing-templates.ts";
import { connectedAppRemovedCopy } from "./connected-app-templates.ts";
import { federationCopy } from "./federation-templates.ts";
import { type PasskeyChange, passkeyCopy } from "./passkey-templates.ts";
import { type ProfileTemplate, profileCopy } from "./profile-templates.ts";
import { signedOutBySupportCopy } from "./staff-templates.ts";
import { type TwoStepRecoveryMail, twoStepRecoveryCopy } from "./two-step-recovery-templates.ts";
import { type TwoStepChange, twoStepCopy } from "./two-step-templates.ts";

/** Every mail sent to a customer, with the data it needs. `code` marks messages that carry a security code. */
export type MessageTemplate =
  | ProfileTemplate
  // No name: the address is not verified yet, and the name is whatever the registrant typed (an
  // advert, a link), which must not reach a stranger's mailbox in a mail that looks like the shop's.
  | { kind: "registration_code"; code: string; lifetimeMinutes: number }
  | { kind: "registration_existing_account"; name: string; signInUrl: string; resetUrl: string }
  | { kind: "account_created"; name: string; securityUrl: string }
  | { kind: "password_reset_code"; name: string; code: string; lifetimeMinutes: number }
  | { kind: "password_changed"; name: string; how: "reset" | "change"; resetUrl: string }
  | { kind: "sign_in_paused"; name: string; minutes: number; resetUrl: string }
  | { kind: "new_sign_in"; name: string; browser: string; place: string; time: string; securityUrl: string }
  | {
      kind: "two_step_changed";
      name: string;
      change: TwoStepChange;
      /** The method concerned, as the owner knows it ("SMS ***-****-5678", "authenticator app"). */
      method: string;
      left: number;
      securityUrl: string;
    }
  | {
      kind: "passkey_changed";
      name: string;
      change: PasskeyChange;
      /** The passkey's name, as its owner sees it in Login & security. */
      passkey: string;
      securityUrl: string;
    }
  | {
      kind: "connected_app_removed";
      name: string;
      /** The shop's name, as the operator registered it and the consent page showed it. */
      app: string;
      securityUrl: string;
    }
  | TwoStepRecoveryMail
  | { kind: "federation_linked"; name: string; provider: string; securityUrl: string }
  | { kind: "federation_unlinked"; name: string; provider: string; securityUrl: string }
  | {
      kind: "account_status_changed";
      name: string;
      status: "suspended" | "closed" | "active";
      reason: string;
    }
  | { kind: "signed_out_by_support"; name: string; reason: string; resetUrl: string }
  | AccountClosingTemplate;

export type RenderedMessage = { subject: string; text: string; html: string };

type Copy = { subject: string; lines: string[] };

function copyFor(template: MessageTemplate, locale: Locale): Copy {
  const ja = locale === "ja";
  switch (template.kind) {
    case "registration_code":
      return ja
        ? {
            // No code in subjects: they show on locked screens and stay in the outbox table after sending.
            subject: "Eメールアドレスのセキュリティコード",
            lines: [
              "アカウントの作成を完了するには、次のセキュリティコードを入力してください。",
              "セキュリティコード: {code}",
              "このコードの有効期限は{minutes}分です。このコードを誰にも教えないでください。",
              "お心当たりがない場合は、このメールを無視してください。アカウントは作成されません。",
            ],
          }
        : {
            subject: "Your email security code",
            lines: [
              "Hello,",
              "To finish creating your account, enter this security code:",
              "Security code: {code}",
              "It expires in {minutes} minutes. Never share it with anyone.",
              "If this wasn't you, ignore this email: no account will be created.",
            ],
          };
    case "registration_existing_account":
      return ja
        ? {
            subject: "このEメールアドレスでの登録がありました",
            lines: [
              "{name} 様",
              "お使いのEメールアドレスで新しいアカウントを作成しようとする操作がありました。このアドレスのアカウントは既にあります。",
              "ご本人の場合はログインしてください: {signInUrl}",
              "パスワードをお忘れの場合: {resetUrl}",
              "お心当たりがない場合は、このメールを無視してください。アカウントに変更はありません。",
            ],
          }
        : {
            subject: "Someone tried to register with your email address",
            lines: [
              "Hello {name},",
              "Someone tried to create a new account with your email address. You already have an account.",
              "If it was you, sign in: {signInUrl}",
              "Forgot your password? {resetUrl}",
              "If it wasn't you, ignore this email: nothing about your account has changed.",
            ],
          };
    case "account_created":
      return ja
        ? {
            subject: "アカウントを作成しました",
            lines: [
              "{name} 様",
              "アカウントの作成が完了しました。",
              "2段階認証を設定すると、アカウントをより安全に守れます: {securityUrl}",
            ],
          }
        : {
            subject: "Your account is ready",
            lines: [
              "Hello {name},",
              "Your account has been created.",
              "Turn on two-step verification to protect it better: {securityUrl}",
            ],
          };
    case "password_reset_code":
      return ja
        ? {
            subject: "パスワード再設定のセキュリティコード",
            lines: [
              "{name} 様",
              "パスワードを再設定するには、次のセキュリティコードを入力してください。",
              "セキュリティコード: {code}",
              "このコードの有効期限は{minutes}分です。このコードを誰にも教えないでください。{shop}からコードをお尋ねすることはありません。",
              "お心当たりがない場合は、このメールを無視してください。パスワードは変更されません。",
            ],
          }
        : {
            subject: "Your password reset code",
            lines: [
              "Hello {name},",
              "To reset your password, enter this security code:",
              "Security code: {code}",
              "It expires in {minutes} minutes. Never share it: {shop} will never ask you for it.",
              "If this wasn't you, you can ignore this email — your password is unchanged.",
            ],
          };
    case "password_changed":
      return ja
        ? {
            subject: "パスワードが変更されました",
            lines: [
              "{name} 様",
              template.how === "reset"
                ? "パスワードが再設定されました。安全のため、すべての端末からログアウトしました。"
                : "パスワードが変更されました。安全のため、他の端末からログアウトしました。",
              "お心当たりがない場合は、すぐにパスワードを再設定してください: {resetUrl}",
            ],
          }
        : {
            subject: "Your password was changed",
            lines: [
              "Hello {name},",
              template.how === "reset"
                ? "Your password was reset. To keep your account safe, you have been signed out on every device."
                : "Your password was changed. To keep your account safe, your other devices have been signed out.",
              "If this wasn't you, reset your password now: {resetUrl}",
            ],
          };
    case "account_status_changed":
      return statusChangedCopy(template.status, ja);
    case "account_closed_by_owner":
    case "password_reset_blocked":
    case "sign_in_country_refused":
      return accountClosingCopy(template, ja);
    case "two_step_changed":
      return twoStepCopy(template.change, locale);
    case "passkey_changed":
      return passkeyCopy(template.change, locale);
    case "connected_app_removed":
      return connectedAppRemovedCopy(locale);
    case "signed_out_by_support":
      return signedOutBySupportCopy(locale);
    case "two_step_recovery_code":
    case "two_step_recovery_started":
    case "two_step_recovery_cancelled":
    case "two_step_recovery_completed":
      return twoStepRecoveryCopy(template, locale);
    case "email_change_code":
    case "email_change_taken":
    case "email_changed":
    case "email_change_undone":
    case "profile_changed":
    case "phone_moved":
      return profileCopy(template, locale);
    case "federation_linked":
      return federationCopy("linked", locale);
    case "federation_unlinked":
      return federationCopy("unlinked", locale);
    case "new_sign_in":
      return ja
        ? {
            subject: "新しい環境からのログインがありました",
            lines: [
              "{name} 様",
              "お客様のアカウントに、これまでと違う環境からログインがありました。",
              "日時: {time}\nブラウザ: {browser}\n場所: {place}",
              "ご本人の場合、このメールは無視してください。",
              "お心当たりがない場合は、すぐにパスワードを再設定し、ログイン中の端末を確認してください: {securityUrl}",
            ],
          }
        : {
            subject: "New sign-in to your account",
            lines: [
              "Hello {name},",
              "Your account was signed in to from a browser or place it has not used before.",
              "When: {time}\nBrowser: {browser}\nWhere: {place}",
              "If this was you, you can ignore this email.",
              "If it wasn't you, reset your password now and check your signed-in devices: {securityUrl}",
            ],
          };
    case "sign_in_paused":
      return ja
        ? {
            subject: "パスワードの入力が続けて間違っていました",
            lines: [
              "{name} 様",
              "お客様のアカウントへのログインで、間違ったパスワードが続けて入力されました。安全のため、パスワードでのログインを{minutes}分間停止しています。",
              "ご本人の場合は、しばらく待ってからもう一度お試しください。コードを要求しないブラウザからはいつも通りログインできます。",
              "お心当たりがない場合は、パスワードを知られている可能性があります。パスワードを再設定してください: {resetUrl}",
            ],
          }
        : {
            subject: "Someone tried your password",
            lines: [
              "Hello {name},",
              "Wrong passwords were entered again and again for your account, so password sign-in is paused for {minutes} minutes.",
              "If it was you, wait a little and try again. Your trusted browsers can still sign in.",
              "If it wasn't you, someone may know your email address and be guessing. Reset your password: {resetUrl}",
            ],
          };
  }
}

/** The mail an owner gets when an operator suspends, closes or reopens the account. */
function statusChangedCopy(status: "suspended" | "closed" | "active", ja: boolean): Copy {
  const reason = ja ? "理由: {reason}" : "Reason: {reason}";
  if (status === "suspended") {
    return ja
      ? {
          subject: "アカウントを一時停止しました",
          lines: [
            "{name} 様",
            "ショップの運営者がお客様のアカウントを一時停止しました。すべての端末からログアウトされています。",
            reason,
            "ご不明な点はショップのサポートにお問い合わせください。",
          ],
        }
      : {
          subject: "Your account has been suspended",
          lines: [
            "Hello {name},",
            "The shop's operator has suspended your account. You have been signed out on every device.",
            reason,
            "If you have questions, contact the shop's support.",
          ],
        };
  }
  if (status === "closed") {
    return ja
      ? {
          subject: "アカウントを閉鎖しました",
          lines: [
            "{name} 様",
            "お客様のアカウントは閉鎖されました。すべての端末からログアウトされています。",
            reason,
            "お心当たりがない場合は、ショップのサポートにお問い合わせください。",
          ],
        }
      : {
          subject: "Your account has been closed",
          lines: [
            "Hello {name},",
            "Your account has been closed. You have been signed out on every device.",
            reason,
            "If this wasn't expected, contact the shop's support.",
          ],
        };
  }
  return ja
    ? {
        subject: "アカウントを再開しました",
        lines: [
          "{name} 様",
          "お客様のアカウントは再び使えるようになりました。いつものようにログインできます。",
          reason,
        ],
      }
    : {
        subject: "Your account is open again",
        lines: ["Hello {name},", "Your account can be used again. You can sign in as usual.", reason],
      };
}

/** A template's fields as placeholder values (`{name}`, `{code}`, `{minutes}` for a code's lifetime…). */
function valuesOf(template: MessageTemplate): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(template)) {
    if (typeof value === "string" || typeof value === "number") values[key] = value;
  }
  if ("lifetimeMinutes" in template) values.minutes = template.lifetimeMinutes;
  return values;
}

/** Renders a message as a subject, a plain-text body and an escaped HTML body, in the person's language. */
export function renderMessage(
  template: MessageTemplate,
  locale: Locale,
  brand: Brand,
  support?: SupportContact,
): RenderedMessage {
  const copy = copyFor(template, locale);
  const values = { ...valuesOf(template), shop: brand.name };
  // The shop's name leads every subject, as Japanese shops write it: 【やまだ商店】パスワードが変更されました.
  const subject =
    locale === "ja"
      ? `【${brand.name}】${format(copy.subject, values)}`
      : `${brand.name}: ${format(copy.subject, values)}`;
  // The support contact is the operator's text, not a placeholder's: added after formatting.
  const lines = [
    ...copy.lines.map((line) => format(line, values)),
    ...supportLines(support, locale === "ja", brand),
  ];
  const code = "code" in template ? template.code : undefined;
  const body = html`<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><title>${subject}</title></head>
<body style="font-family: sans-serif; line-height: 1.6; color: #1a1a1a;">
${lines.map((line) =>
  code && line.includes(code)
    ? html`<p style="font-size: 24px; letter-spacing: 4px;"><strong>${line}</strong></p>`
    : html`<p>${line}</p>`,
)}
<p style="color: #666; font-size: 12px;">${brand.name}</p>
</body></html>`;
  return {
    subject,
    text: `${lines.join("\n\n")}\n\n-- \n${brand.name}\n`,
    html: body.value,
  };
}
