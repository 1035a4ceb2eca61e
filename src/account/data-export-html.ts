import type { Locale } from "../config/config.ts";
import { closingText } from "../i18n/closing-text.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime, pageText } from "../i18n/page-text.ts";
import { html, type SafeHtml } from "../views/html.ts";
import type { DataExport } from "./data-export.ts";

/**
 * The readable download: one self-contained HTML document (no script, no outside resource) with
 * the same content as the JSON, as tables a person can open in any browser, offline.
 */
type Cell = string | number | boolean | null;

function table(headers: readonly string[], rows: readonly (readonly Cell[])[], none: string): SafeHtml {
  if (rows.length === 0) return html`<p>${none}</p>`;
  return html`<table><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>
${rows.map((row) => html`<tr>${row.map((cell) => html`<td>${cell === null ? "—" : String(cell)}</td>`)}</tr>`)}
</tbody></table>`;
}

export function renderDataExportHtml(data: DataExport, locale: Locale): string {
  const t = closingText(locale).export;
  const s = pageText(locale).security;
  const when = (iso: string | null): string | null => (iso ? formatDateTime(iso, locale) : null);
  const a = data.account;
  const m = data.signInMethods;
  const doc = html`<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t.title}</title>
<style>body{font-family:sans-serif;line-height:1.6;color:#1a1a1a;max-width:60rem;margin:1rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%;margin-bottom:1rem;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;word-break:break-word}th{background:#f3f3f3}</style>
</head><body>
<h1>${t.title}</h1>
<p>${format(t.exportedAt, { time: formatDateTime(data.exportedAt, locale) })}</p>
<h2>${t.profile}</h2>
${table(
  ["", ""],
  [
    ["ID", a.id],
    [s.name, a.name],
    [s.email, a.email],
    [s.phone, a.phone],
    ["locale", a.locale],
    ["status", a.status],
    ["createdAt", when(a.createdAt)],
  ],
  t.none,
)}
<h2>${t.methods}</h2>
<p>${t.passwordSet}: ${m.password.set ? format(t.passwordChanged, { time: when(m.password.changedAt) ?? "—" }) : t.none}</p>
<h3>${t.twoStep}</h3>
${table(
  ["method", "role", "state", s.phone, "createdAt", "lastUsedAt"],
  m.twoStep.map((x) => [x.method, x.role, x.state, x.phone, when(x.createdAt), when(x.lastUsedAt)]),
  t.none,
)}
<p>${format(t.recoveryCodes, { unused: m.recoveryCodes.unused, total: m.recoveryCodes.total })}</p>
<h3>${t.passkeys}</h3>
${table(
  ["name", "createdAt", "lastUsedAt"],
  m.passkeys.map((x) => [x.name, when(x.createdAt), when(x.lastUsedAt)]),
  t.none,
)}
<h3>${t.trustedBrowsers}</h3>
${table(
  ["userAgent", "IP", "createdAt", "expiresAt", "forgottenAt"],
  m.trustedBrowsers.map((x) => [
    x.userAgent,
    x.ip,
    when(x.createdAt),
    when(x.expiresAt),
    when(x.forgottenAt),
  ]),
  t.none,
)}
<h2>${t.sessions}</h2>
${table(
  ["userAgent", "IP", "createdAt", "lastSeenAt", "endedAt"],
  data.sessions.map((x) => [x.userAgent, x.ip, when(x.createdAt), when(x.lastSeenAt), when(x.endedAt)]),
  t.none,
)}
<h2>${t.activity}</h2>
${table(
  ["at", "type", "IP", "userAgent", "detail"],
  data.activity.map((x) => [when(x.at), x.type, x.ip, x.userAgent, x.detail]),
  t.none,
)}
<h2>${t.places}</h2>
${table(
  ["browser", "country", "firstSeenAt", "lastSeenAt"],
  data.signInPlaces.map((x) => [x.browser, x.country, when(x.firstSeenAt), when(x.lastSeenAt)]),
  t.none,
)}
<h2>${t.shops}</h2>
${table(
  ["name", "scopes", "firstAllowedAt", "lastUsedAt"],
  data.connectedShops.map((x) => [x.name, x.scopes.join(" "), when(x.firstAllowedAt), when(x.lastUsedAt)]),
  t.none,
)}
<h2>${t.mails}</h2>
${table(
  ["createdAt", "channel", "recipient", "subject", "state"],
  data.messages.map((x) => [when(x.createdAt), x.channel, x.recipient, x.subject ?? x.template, x.state]),
  t.none,
)}
</body></html>`;
  return doc.value;
}
