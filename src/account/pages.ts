import type { FastifyInstance, FastifyRequest } from "fastify";
import { recordAuditEvent } from "../audit/audit.ts";
import type { Deps } from "../deps.ts";
import { signInMethodsRow } from "../federation/methods-row.ts";
import { conditionalCreateOffer } from "../flows/passkeys/conditional-create.ts";

import { passkeySummaryRow } from "../flows/passkeys/pages.ts";
import { twoStepRecoveryBanner } from "../flows/two-step-recovery/pages.ts";
import { checkFormToken, formField, sendFormExpired, sendPage, signedInPage } from "../http/pages.ts";
import { clearSessionCookie, loadSession, requestMeta, sessionTokenOf } from "../http/request-context.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime, pageText } from "../i18n/page-text.ts";
import { twoStepText } from "../i18n/two-step-text.ts";
import { listConnectedApps } from "../oidc/connected-apps.ts";
import { listLiveSessions, revokeAccountSessions, revokeSession } from "../session/sessions.ts";
import { listTrustedDevices } from "../session/trusted-devices.ts";
import { csrfField } from "../views/forms.ts";
import { html } from "../views/html.ts";
import { settingRow } from "../views/setting-row.ts";
import { closingRows } from "./closing-pages.ts";
import { connectedAppsRow } from "./connected-apps-page.ts";
import { profileNotice, profileRows } from "./profile-rows.ts";
import { accountServiceTiles } from "./service-tiles.ts";
import { sessionDeviceName } from "./session-device.ts";
import { trustedDeviceIdOf, trustedDevicesCard } from "./trusted-devices-page.ts";

/** "Your account", "Login & security", the signed-in devices, and sign out. */
export function registerAccountPages(app: FastifyInstance, deps: Deps): void {
  app.get("/", async (request, reply) => {
    const auth = await loadSession(request, deps);
    // A refused session's holder goes to /account too, which says why it was refused.
    const held = auth !== null || sessionTokenOf(request, deps.config) !== undefined;
    return reply.redirect(held ? "/account" : "/sign-in", 303);
  });

  app.get("/account", async (request, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const text = pageText(locale).account;
    const body = html`<h1>${text.title}</h1>
<p>${format(text.hello, { name: page.auth.account.name })}</p>
${accountServiceTiles([
  { href: "/account/security", title: text.security, description: text.securityHint },
  { href: "/account/sessions", title: text.sessions, description: text.sessionsHint },
])}
${await conditionalCreateOffer(deps, page.auth, locale)}`;
    return sendPage(reply, 200, {
      locale,
      title: text.title,
      path: "/account",
      body,
      signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
    });
  });

  app.get("/account/security", async (request: FastifyRequest<{ Querystring: { done?: string } }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const text = pageText(locale).security;
    const account = page.auth.account;
    const devices = await listTrustedDevices(deps.db, account.id, deps.clock.now());
    const passkeys = await passkeySummaryRow(deps.db, account.id, locale);
    const apps = await listConnectedApps(deps.db, account.id, deps.clock.now());
    const recoveryBanner = await twoStepRecoveryBanner(deps, account.id, locale, page.csrfToken);
    const body = html`<h1>${text.title}</h1>
${recoveryBanner}
<div class="card">
<dl class="settings">
  ${profileRows(locale, account)}
  ${settingRow(text.password, account.password_changed_at ? format(text.passwordChangedAt, { time: formatDateTime(account.password_changed_at, locale) }) : "—", { href: "/account/security/password", text: text.edit, label: text.editPassword })}
  ${settingRow(text.twoStep, account.two_step_enabled_at ? text.twoStepOn : text.twoStepOff, { href: "/account/security/two-step", text: text.twoStepSettings })}
  ${passkeys}
  ${signInMethodsRow(locale)}
  ${settingRow(text.sessions, pageText(locale).account.sessionsHint, { href: "/account/sessions", text: text.manage })}
  ${connectedAppsRow(locale, apps.length)}
  ${settingRow(text.activity, text.activityHint, { href: "/account/security/activity", text: text.view, label: text.viewActivity })}
  ${closingRows(locale)}
</dl>
</div>
${devices.length > 0 || account.two_step_enabled_at ? trustedDevicesCard(locale, page.csrfToken, devices, trustedDeviceIdOf(request, deps.config)) : null}
<p><a href="/account">${text.back}</a></p>`;
    const notice =
      request.query.done === "password"
        ? pageText(locale).changePassword.done
        : request.query.done === "device"
          ? twoStepText(locale).devices.forgotten
          : profileNotice(locale, request.query.done);
    return sendPage(reply, 200, {
      locale,
      title: text.title,
      path: "/account/security",
      body,
      signedIn: { name: account.name, csrfToken: page.csrfToken },
      ...(notice ? { notice } : {}),
    });
  });

  app.get("/account/sessions", async (request: FastifyRequest<{ Querystring: { done?: string } }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const text = pageText(locale).sessions;
    const sessions = await listLiveSessions(deps.db, page.auth.account.id, deps.clock.now());
    const names = await Promise.all(sessions.map((s) => sessionDeviceName(locale, s, text.unknownDevice)));
    const notice =
      request.query.done === "others"
        ? text.revokedOthers
        : request.query.done === "one"
          ? text.revoked
          : undefined;
    const body = html`<h1>${text.title}</h1>
<p>${text.intro}</p>
<div class="card">
<ul class="sessions">
${sessions.map(
  (s, i) => html`<li>
  <strong>${names[i]}</strong> ${s.id === page.auth.session.id ? html`<span class="tag">${text.current}</span>` : null}<br>
  <span class="hint">${format(text.started, { time: formatDateTime(s.created_at, locale) })} · ${format(text.lastSeen, { time: formatDateTime(s.last_seen_at, locale) })}${s.ip ? ` · ${s.ip}` : ""}</span>
  ${
    s.id === page.auth.session.id
      ? null
      : html`<form method="post" action="/account/sessions/revoke">${csrfField(page.csrfToken)}<input type="hidden" name="session" value="${s.id}"><button type="submit" class="secondary">${text.revoke}</button></form>`
  }
</li>`,
)}
</ul>
</div>
${
  sessions.length > 1
    ? html`<form method="post" action="/account/sessions/revoke-others">${csrfField(page.csrfToken)}<button type="submit">${text.revokeOthers}</button></form>`
    : null
}
<p><a href="/account/security">${text.back}</a></p>`;
    return sendPage(reply, 200, {
      locale,
      title: text.title,
      path: "/account/sessions",
      body,
      signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
      ...(notice ? { notice } : {}),
    });
  });

  app.post("/account/sessions/revoke", async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, "/account/sessions");
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const sessionId = formField(request, "session").slice(0, 64);
    if (await revokeSession(deps.db, page.auth.account.id, sessionId, deps.clock.now())) {
      await recordAuditEvent(deps.db, deps, {
        type: "session.revoked",
        accountId: page.auth.account.id,
        actor: "account",
        ...requestMeta(request),
        detail: { sessionId, reason: "revoked_by_owner" },
      });
    }
    return reply.redirect("/account/sessions?done=one", 303);
  });

  app.post("/account/sessions/revoke-others", async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, "/account/sessions");
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const count = await revokeAccountSessions(
      deps.db,
      page.auth.account.id,
      page.auth.session.id,
      deps.clock.now(),
    );
    await recordAuditEvent(deps.db, deps, {
      type: "session.revoked_others",
      accountId: page.auth.account.id,
      actor: "account",
      ...requestMeta(request),
      detail: { count },
    });
    return reply.redirect("/account/sessions?done=others", 303);
  });

  app.post("/sign-out", async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, "/account");
    const auth = await loadSession(request, deps);
    if (auth) {
      await revokeSession(deps.db, auth.account.id, auth.session.id, deps.clock.now());
      await recordAuditEvent(deps.db, deps, {
        type: "session.revoked",
        accountId: auth.account.id,
        actor: "account",
        ...requestMeta(request),
        detail: { sessionId: auth.session.id, reason: "sign_out" },
      });
    }
    clearSessionCookie(reply, deps.config);
    return reply.redirect("/sign-in?signed_out=1", 303);
  });
}
