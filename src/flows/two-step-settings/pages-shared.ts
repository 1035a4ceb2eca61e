import type { FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import type { MethodRow } from "../../factors/two-step/methods.ts";
import { type PageContext, sendPage, signedInPage } from "../../http/pages.ts";
import { requestMeta } from "../../http/request-context.ts";
import { twoStepText } from "../../i18n/two-step-text.ts";
import type { SafeHtml } from "../../views/html.ts";
import { maskedPhone } from "../../views/phone-number.ts";
import type { FlowFailure } from "../flow-result.ts";
import { requireRecentAuthentication, requireStepUp, type SettingsContext } from "./guards.ts";

/** What the two-step settings pages share: paths, the signed-in context, guards, method names. */
export const twoStepPath = "/account/security/two-step";
export const reauthenticatePath = "/account/security/reauthenticate";
export const stepUpPath = "/account/security/step-up";

export function methodPath(id: string): string {
  return `${twoStepPath}/methods/${encodeURIComponent(id)}`;
}

export type SettingsPage = PageContext & { ctx: SettingsContext };

/** A signed-in settings page: the session, a form token and the context the settings functions take. */
export async function settingsPage(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<SettingsPage | undefined> {
  const page = await signedInPage(deps, request, reply);
  if (!page) return undefined;
  return { ...page, ctx: { deps, auth: page.auth, meta: requestMeta(request) } };
}

function withReturn(path: string, returnTo: string): string {
  return `${path}?return_to=${encodeURIComponent(returnTo)}`;
}

/**
 * Where a guard's refusal sends the person: the password page (sign-in older than 10 minutes) or
 * the step-up page (a code from a current method), each coming back to `returnTo`, a GET page.
 */
export function guardRedirect(failure: FlowFailure, returnTo: string): string | undefined {
  if (failure.code === "reauthentication_required") return withReturn(reauthenticatePath, returnTo);
  if (failure.code === "step_up_required") return withReturn(stepUpPath, returnTo);
  return undefined;
}

/**
 * The same guards the settings functions apply, checked before a form is shown, so that nobody
 * fills in a form only to be asked for a password when sending it. The functions check again.
 */
export function pageGuard(ctx: SettingsContext, returnTo: string, stepUp: boolean): string | undefined {
  const refused = requireRecentAuthentication(ctx) ?? (stepUp ? requireStepUp(ctx) : undefined);
  return refused ? guardRedirect(refused, returnTo) : undefined;
}

/** 「SMS（***-****-5678）」 / "Text message (***-****-5678)" / "Authenticator app". */
export function methodName(locale: Locale, method: Pick<MethodRow, "method" | "phone">): string {
  const name = twoStepText(locale).methods[method.method];
  if (!method.phone) return name;
  return locale === "ja"
    ? `${name}（${maskedPhone(method.phone)}）`
    : `${name} (${maskedPhone(method.phone)})`;
}

export { type FormState, formState, withRetryAfter } from "../../http/pages.ts";

/** "Wait about N minutes": a resend refused by the cooldown or the sending budgets. */
export function minutesToWait(f: FlowFailure): number {
  return Math.max(1, Math.ceil((f.retryAfterSeconds ?? 60) / 60));
}

export function sendSettingsPage(
  reply: FastifyReply,
  page: PageContext,
  locale: Locale,
  status: number,
  content: { title: string; path: string; body: SafeHtml; notice?: string | undefined },
): FastifyReply {
  return sendPage(reply, status, {
    locale,
    title: content.title,
    path: content.path,
    body: content.body,
    signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
    ...(content.notice ? { notice: content.notice } : {}),
  });
}
