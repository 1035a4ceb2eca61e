import type { Locale } from "../config/config.ts";
import { pageText } from "../i18n/page-text.ts";
import { profileText } from "../i18n/profile-text.ts";
import type { AccountRow } from "../identity/accounts.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { maskedPhone } from "../views/phone-number.ts";

/** Login & security's 氏名, Eメールアドレス and 携帯電話番号 rows, each with its 編集. */
export function profileRows(locale: Locale, account: AccountRow): SafeHtml {
  const text = pageText(locale).security;
  const p = profileText(locale);
  const phone = account.phone && account.phone_verified_at ? account.phone : null;
  return html`<div><dt>${text.name}</dt><dd>${account.name} <a class="edit" href="/account/security/name" aria-label="${p.editName}">${text.edit}</a></dd></div>
  <div><dt>${text.email}</dt><dd>${account.email} <a class="edit" href="/account/security/email" aria-label="${p.editEmail}">${text.edit}</a></dd></div>
  <div><dt>${text.phone}</dt><dd>${phone ? maskedPhone(phone) : text.phoneNone} <a class="edit" href="/account/security/phone" aria-label="${phone ? p.editPhone : p.addPhone}">${phone ? text.edit : p.add}</a></dd></div>`;
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
