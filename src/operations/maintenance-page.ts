import type { Locale } from "../config/config.ts";
import { errorMessage } from "../http/errors.ts";
import { format } from "../i18n/locale.ts";
import { maintenanceText, monthName } from "../i18n/maintenance-text.ts";
import { pageText } from "../i18n/page-text.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { type MaintenanceMode, maintenanceMessage } from "./maintenance.ts";

/**
 * The maintenance page's card: an apology, the operator's message in the reader's language, when
 * it should end (in Japan time, rounded up to five minutes: 「12月6日 21:30ごろ」) — or that it is
 * taking longer than planned — and a link to try again.
 */
export function maintenanceCard(
  locale: Locale,
  mode: MaintenanceMode & { on: true },
  now: Date,
  retryPath: string,
): SafeHtml {
  const t = maintenanceText(locale);
  const message = maintenanceMessage(mode, locale) || errorMessage("maintenance", locale);
  // An English page with only the Japanese message says which language it is in.
  const messageLang = locale === "en" && !mode.messageEn && mode.message ? "ja" : locale;
  const time = expectedEndText(locale, mode.endsAt);
  const overdue = Date.parse(mode.endsAt) <= now.getTime();
  return html`<div class="card">
<h1>${pageText(locale).maintenance.title}</h1>
<p>${t.apology}</p>
<p lang="${messageLang}">${message}</p>
<p>${overdue ? format(t.overdue, { time }) : format(t.expectedEnd, { time })}</p>
<p><a class="button wide" href="${retryPath}">${t.retry}</a></p>
</div>`;
}

const japanOffsetMs = 9 * 3600 * 1000;
const fiveMinutesMs = 5 * 60 * 1000;

/** An instant as Japan time (UTC+9, no daylight saving), rounded up to five minutes. */
export function expectedEndText(locale: Locale, instant: string): string {
  const rounded = Math.ceil(Date.parse(instant) / fiveMinutesMs) * fiveMinutesMs;
  const japan = new Date(rounded + japanOffsetMs);
  const month = japan.getUTCMonth() + 1;
  const day = japan.getUTCDate();
  const time = `${String(japan.getUTCHours()).padStart(2, "0")}:${String(japan.getUTCMinutes()).padStart(2, "0")}`;
  return format(maintenanceText(locale).around, { month, day, time, monthName: monthName(month) });
}
