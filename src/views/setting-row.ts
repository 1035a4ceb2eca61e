import { html, type SafeHtml } from "./html.ts";

/** A settings row's action: a link, its visible text, and a fuller name when that text alone is ambiguous (編集). */
export type SettingAction = { href: string; text: string; label?: string };

/**
 * One item of a settings list (`<dl class="settings">`, Login & security): the item's name, its
 * current value and its action, each in its own cell, so that the page puts the action under the
 * value as a full-width button on a phone and at the row's right on a desktop (public/mamori.css,
 * "Login & security rows"). The action keeps class `edit`, which tests use to tell it from the value.
 */
export function settingRow(label: string, value: string | SafeHtml, action?: SettingAction): SafeHtml {
  const link = action
    ? html`<dd class="action"><a class="edit" href="${action.href}"${action.label ? html` aria-label="${action.label}"` : null}>${action.text}</a></dd>`
    : null;
  return html`<div><dt>${label}</dt><dd class="value">${value}</dd>${link}</div>`;
}
