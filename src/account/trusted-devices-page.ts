import type { FastifyInstance, FastifyRequest } from "fastify";
import { recordAuditEvent } from "../audit/audit.ts";
import type { Config, Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { cookieName } from "../http/cookie-names.ts";
import { checkFormToken, formField, sendFormExpired, signedInPage } from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import { twoStepText } from "../i18n/two-step-text.ts";
import {
  forgetTrustedDevices,
  type TrustedDeviceRow,
  trustedDeviceCookieName,
} from "../session/trusted-devices.ts";
import { csrfField } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { describeBrowser } from "../views/user-agent.ts";

/**
 * "Browsers that don't ask for codes" on Login & security: each trusted browser with when it was
 * added and last used, and a button to forget it (the next sign-in there asks for a code again).
 */
export const forgetDevicePath = "/account/security/trusted-devices/forget";

/** The id part of this browser's trusted-device cookie (`id.secret`), to mark it in the list. */
export function trustedDeviceIdOf(request: FastifyRequest, config: Config): string | undefined {
  const token = request.cookies[cookieName(config, trustedDeviceCookieName)];
  const dot = token?.indexOf(".") ?? -1;
  return token && dot > 0 ? token.slice(0, dot) : undefined;
}

export function trustedDevicesCard(
  locale: Locale,
  csrfToken: string,
  devices: readonly TrustedDeviceRow[],
  thisDeviceId: string | undefined,
): SafeHtml {
  const t = twoStepText(locale).devices;
  return html`<div class="card" id="trusted-devices">
<h2>${t.title}</h2>
<p class="hint">${t.intro}</p>
${
  devices.length === 0
    ? html`<p>${t.none}</p>`
    : html`<ul class="sessions">${devices.map(
        (d) => html`<li>
  <strong>${describeBrowser(d.user_agent) ?? t.unknown}</strong> ${d.id === thisDeviceId ? html`<span class="tag">${t.thisBrowser}</span>` : null}<br>
  <span class="hint">${format(t.added, { time: formatDateTime(d.created_at, locale) })} · ${format(t.lastUsed, { time: formatDateTime(d.last_used_at, locale) })}</span>
  <form method="post" action="${forgetDevicePath}">${csrfField(csrfToken)}<input type="hidden" name="device" value="${d.id}"><button type="submit" class="secondary">${t.forget}</button></form>
</li>`,
      )}</ul>`
}
</div>`;
}

export function registerTrustedDevicePages(app: FastifyInstance, deps: Deps): void {
  app.post(forgetDevicePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, "/account/security");
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const deviceId = formField(request, "device").slice(0, 64);
    // Forgetting only takes trust away, so it needs no recent sign-in: a stolen session gains nothing.
    if (
      deviceId &&
      (await forgetTrustedDevices(deps.db, page.auth.account.id, deviceId, deps.clock.now())) > 0
    ) {
      await recordAuditEvent(deps.db, deps, {
        type: "trusted_device.revoked",
        accountId: page.auth.account.id,
        actor: "account",
        ...requestMeta(request),
        detail: { deviceId },
      });
    }
    return reply.redirect("/account/security?done=device", 303);
  });
}
