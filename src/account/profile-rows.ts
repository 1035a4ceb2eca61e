import type { Locale } from "../config/config.ts";
import { pageText } from "../i18n/page-text.ts";
import { profileText } from "../i18n/profile-text.ts";
import type { AccountRow } from "../identity/accounts.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { maskedPhone } from "../views/phone-number.ts";
import { settingRow } from "../views/setting-row.ts";

/** Login & security's 氏名, Eメールアドレス and 携帯電話番号 rows, each with its 編集 (one settingRow each). */
export function profileRows(locale: Locale, account: AccountRow): SafeHtml {
  const text = pageText(locale).security;
  const p = profileText(locale);
  const phone = account.phone && account.phone_verified_at ? account.phone : null;
  return html`${settingRow(text.name, account.name, { href: "/account/security/name", text: text.edit, label: p.editName })}
  ${settingRow(text.email, account.email, { href: "/account/security/email", text: text.edit, label: p.editEmail })}
  ${settingRow(text.phone, phone ? maskedPhone(phone) : text.phoneNone, { href: "/account/security/phone", text: phone ? text.edit : p.add, label: phone ? p.editPhone : p.addPhone })}`;
}

/** The notice after a profile change (`?done=`), or undefined for another page's. */
export function profileNotice(locale: Locale, done: string | undefined): string | undefined {
  const p = profileText(locale);
  if (done === "name") return p.name.done;
  if (done === "email") return p.email.done;
  if (done === "phone") return p.phone.done;
  if (done === "phone_removed") return p.phone.removed;
  return undefined;
}
