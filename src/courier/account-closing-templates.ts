import type { Brand } from "../config/brand-config.ts";
import { type SupportContact, supportHours } from "../config/support-config.ts";

/**
 * The mails of closing an account and of refusals (docs/flows/account-closing.md): the owner's
 * own closing, a "forgot password" for an account that is suspended or closed (an honest
 * explanation instead of a code), and a sign-in refused because of the place it came from. None
 * carries a code or a link that signs anyone in. Every mail ends with the shop's support contact
 * when one is configured (`supportLines`).
 */
export type AccountClosingTemplate =
  | { kind: "account_closed_by_owner"; name: string; time: string; eraseOn: string }
  | { kind: "password_reset_blocked"; name: string; status: "suspended" | "closed" }
  | { kind: "sign_in_country_refused"; name: string; place: string; time: string; resetUrl: string };

export type AccountClosingCopy = { subject: string; lines: string[] };

export function accountClosingCopy(template: AccountClosingTemplate, ja: boolean): AccountClosingCopy {
  switch (template.kind) {
    case "account_closed_by_owner":
      return ja
        ? {
            subject: "アカウントを閉鎖しました",
            lines: [
              "{name} 様",
              "{time}に、お客様のご依頼によりアカウントを閉鎖しました。すべての端末からログアウトし、コードを要求しないブラウザと、お店・アプリへのアクセスの許可もすべて削除しました。このアカウントではもうログインできません。",
              "お客様の個人データ（氏名、Eメールアドレス、携帯電話番号、ログインの記録など）は{eraseOn}に消去します。それまでに閉鎖を取り消したい場合は、ショップのサポートにご連絡ください。",
              "お心当たりがない場合は、すぐにショップのサポートにご連絡ください。",
            ],
          }
        : {
            subject: "Your account has been closed",
            lines: [
              "Hello {name},",
              "At your request, your account was closed on {time}. You have been signed out on every device, and your trusted browsers and every shop's permission to sign you in were removed. The account can no longer sign in.",
              "Your personal data (name, email address, mobile number, sign-in history…) will be erased on {eraseOn}. If you want the closing undone before then, contact the shop's support.",
              "If this wasn't you, contact the shop's support at once.",
            ],
          };
    case "password_reset_blocked":
      if (template.status === "suspended") {
        return ja
          ? {
              subject: "パスワードの再設定について",
              lines: [
                "{name} 様",
                "「パスワードをお忘れの場合」からパスワードの再設定が申し込まれましたが、お客様のアカウントは現在一時停止されているため、セキュリティコードはお送りしていません。パスワードを再設定しても、停止中はログインできないためです。",
                "停止の理由や再開については、ショップのサポートにお問い合わせください。",
                "お心当たりがない場合は、このメールを無視してください。",
              ],
            }
          : {
              subject: "About resetting your password",
              lines: [
                "Hello {name},",
                "Someone asked to reset your password with “Forgot your password?”, but your account is suspended, so no security code was sent: a new password would not let you sign in while it is suspended.",
                "For why it was suspended and how to open it again, contact the shop's support.",
                "If this wasn't you, you can ignore this email.",
              ],
            };
      }
      return ja
        ? {
            subject: "パスワードの再設定について",
            lines: [
              "{name} 様",
              "「パスワードをお忘れの場合」からパスワードの再設定が申し込まれましたが、お客様のアカウントは閉鎖されているため、セキュリティコードはお送りしていません。",
              "閉鎖を取り消したい場合は、ショップのサポートにお問い合わせください（閉鎖から一定期間が過ぎると、データは消去され取り消せなくなります）。",
              "お心当たりがない場合は、このメールを無視してください。",
            ],
          }
        : {
            subject: "About resetting your password",
            lines: [
              "Hello {name},",
              "Someone asked to reset your password with “Forgot your password?”, but your account has been closed, so no security code was sent.",
              "To have the closing undone, contact the shop's support (some time after the closing, the data is erased and it can no longer be undone).",
              "If this wasn't you, you can ignore this email.",
            ],
          };
    case "sign_in_country_refused":
      return ja
        ? {
            subject: "海外からのログインをお断りしました",
            lines: [
              "{name} 様",
              "{time}に、{place}からお客様のアカウントへのログインが試みられましたが、このショップでは現在アクセスしている国・地域からのログインを受け付けていないため、お断りしました。お住まいの場所ではなく、アクセス元の場所で判断しています。",
              "ご旅行や出張中のお客様ご本人の場合は、帰国後にログインするか、ショップのサポートにご相談ください。",
              "お心当たりがない場合は、パスワードが知られているおそれがあります。パスワードを再設定してください: {resetUrl}",
            ],
          }
        : {
            subject: "A sign-in from abroad was refused",
            lines: [
              "Hello {name},",
              "On {time}, someone tried to sign in to your account from {place}. This shop does not accept sign-ins from the country or region the connection comes from, so it was refused. It is where you are connecting from that counts, not where you live.",
              "If it was you, travelling, sign in when you are back, or ask the shop's support.",
              "If it wasn't you, someone may know your password. Reset it: {resetUrl}",
            ],
          };
  }
}

/** The support contact as the last lines of a mail; none when the shop configured none. */
export function supportLines(support: SupportContact | undefined, ja: boolean, brand: Brand): string[] {
  if (!support || (!support.url && !support.phone)) return [];
  const parts = [ja ? `${brand.name}お問い合わせ窓口` : `${brand.name} customer support`];
  if (support.url) parts.push(support.url);
  if (support.phone) parts.push(ja ? `電話: ${support.phone}` : `Phone: ${support.phone}`);
  const hours = supportHours(support, ja);
  if (hours) parts.push(ja ? `受付時間: ${hours}` : `Hours: ${hours}`);
  return [parts.join("\n")];
}
