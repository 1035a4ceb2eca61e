import type { Locale } from "../config/config.ts";

// The maintenance page (src/operations/maintenance-page.ts; its heading is page-text.ts's): an apology, the operator's message
// (`mamori maintenance on --message … --message-en …`), when it should end and a way to try again.
const ja = {
  apology: "ご不便をおかけして申し訳ございません。メンテナンスが終わりしだい、ログインできるようになります。",
  expectedEnd: "終了予定: {time}（日本時間）",
  overdue: "予定の時刻（{time}）を過ぎていますが、まだ作業を続けています。もうしばらくお待ちください。",
  retry: "もう一度試す",
  /** {month}, {day}, {time}: 12月6日 21:30ごろ */
  around: "{month}月{day}日の{time}ごろ",
};

type MaintenanceText = typeof ja;

const en: MaintenanceText = {
  apology: "We are sorry for the inconvenience. You can sign in again as soon as the work is done.",
  expectedEnd: "Expected to end: {time} (Japan time)",
  overdue: "The planned end ({time}) has passed, but we are still working. Please wait a little longer.",
  retry: "Try again",
  around: "around {time} on {day} {monthName}",
};

const monthNames = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

export function maintenanceText(locale: Locale): MaintenanceText {
  return locale === "en" ? en : ja;
}

export function monthName(month: number): string {
  return monthNames[month - 1] ?? String(month);
}
