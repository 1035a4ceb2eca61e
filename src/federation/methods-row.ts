import type { Locale } from "../config/config.ts";
import { federationText } from "../i18n/federation-text.ts";
import type { SafeHtml } from "../views/html.ts";
import { settingRow } from "../views/setting-row.ts";

/** Login & security's row for ログイン方法 (./methods-page.ts). */
export function signInMethodsRow(locale: Locale): SafeHtml {
  const t = federationText(locale);
  return settingRow(t.methodsTitle, t.methodsSummary, {
    href: "/account/security/sign-in-methods",
    text: t.manage,
    label: t.manageLabel,
  });
}
