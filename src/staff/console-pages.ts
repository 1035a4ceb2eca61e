import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { checkFormToken, formField } from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { consoleText } from "../i18n/console-text.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import { readMaintenanceMode } from "../operations/maintenance.ts";
import { csrfField } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { maskedPhone } from "../views/phone-number.ts";
import { describeBrowser } from "../views/user-agent.ts";
import { type ConsoleAction, mayDo, runConsoleAction } from "./console-actions.ts";
import { type CustomerFile, customerFile, dashboard, searchCustomers } from "./console-queries.ts";
import { listStaff } from "./staff-accounts.ts";
import { type StaffContext, sendConsole, staffPage } from "./staff-pages.ts";

/**
 * The console's pages: the dashboard, finding a customer, a customer's file with the actions the
 * staff member's role allows, and (admins) the staff list. Every action is a form with a reason.
 */
const time = (value: string | null, locale: Locale): string => (value ? formatDateTime(value, locale) : "—");

function queryText(request: FastifyRequest, name: string): string {
  const value = (request.query as Record<string, unknown>)[name];
  return typeof value === "string" ? value.slice(0, 200) : "";
}

export function actionForm(
  ctx: StaffContext,
  locale: Locale,
  path: string,
  action: ConsoleAction,
  extra: SafeHtml | null = null,
): SafeHtml | null {
  if (!mayDo(ctx.staff, action)) return null;
  const t = consoleText(locale);
  const id = `reason-${action}`;
  return html`<form method="post" action="${path}" class="console-action">
${csrfField(ctx.csrfToken)}<input type="hidden" name="action" value="${action}">${extra}
<label for="${id}">${path.startsWith("/admin/customers/") ? t.customer.reason : t.customer.reasonForTrail}</label>
<input id="${id}" name="reason" maxlength="500" required>
<button type="submit" class="${action === "close" || action === "suspend" || action === "reset_two_step_now" || action === "webhook_remove" ? "danger" : "secondary"}">${t.actions[action]}</button>
</form>`;
}

async function dashboardBody(deps: Deps, ctx: StaffContext, locale: Locale): Promise<SafeHtml> {
  const t = consoleText(locale).dashboard;
  const d = await dashboard(deps);
  const maintenance = await readMaintenanceMode(deps.db);
  return html`<div class="card"><h1>${t.title}</h1>
<dl class="figures">
<dt>${t.signIns}</dt><dd data-figure="sign-ins">${d.signIns}</dd>
<dt>${t.failed}</dt><dd data-figure="failed">${d.failedSignIns}</dd>
<dt>${t.pauses}</dt><dd data-figure="pauses">${d.pauses}</dd>
<dt>${t.locks}</dt><dd data-figure="locks">${d.twoStepLocks}</dd>
</dl>
<h2>${t.phone}</h2>
<p data-figure="phone-hour">${format(t.lastHour, { count: d.phoneSendsLastHour, budget: d.phoneBudgetPerHour })}</p>
${d.phoneSends.length === 0 ? html`<p>${t.none}</p>` : html`<ul>${d.phoneSends.map((p) => html`<li>${p.channel} · ${p.country}: ${p.count}</li>`)}</ul>`}
<h2>Outbox</h2>
<p data-figure="outbox">${format(t.outbox, { pending: d.outboxPending, failed: d.outboxFailed })}</p>
${d.oldestPendingAt ? html`<p>${format(t.oldest, { time: time(d.oldestPendingAt, locale) })}</p>` : null}
</div>
${
  mayDo(ctx.staff, "maintenance_on")
    ? html`<div class="card"><h2>${t.maintenance}</h2>
${maintenance.on ? html`<p class="notice">${t.maintenanceIsOn}</p>` : null}
${actionForm(ctx, locale, "/admin/maintenance", maintenance.on ? "maintenance_off" : "maintenance_on")}
</div>`
    : null
}`;
}

function customerBody(ctx: StaffContext, locale: Locale, file: CustomerFile): SafeHtml {
  const t = consoleText(locale).customer;
  const a = file.account;
  const path = `/admin/customers/${a.id}/actions`;
  const list = <T>(items: readonly T[], render: (item: T) => SafeHtml): SafeHtml =>
    items.length === 0
      ? html`<p>${t.none}</p>`
      : html`<ul>${items.map((item) => html`<li>${render(item)}</li>`)}</ul>`;
  return html`<div class="card"><h1>${a.name}</h1>
<p><span class="tag" data-status="${a.status}">${t.status[a.status]}</span>${a.status_reason ? html` ${a.status_reason}` : null}</p>
<h2>${t.profile}</h2>
<dl><dt>${t.labels.id}</dt><dd>${a.id}</dd><dt>${t.labels.email}</dt><dd>${a.email}</dd>
<dt>${t.labels.phone}</dt><dd>${a.phone ? maskedPhone(a.phone) : "—"}</dd><dt>${t.labels.created}</dt><dd>${time(a.created_at, locale)}</dd></dl>
<h2>${t.methods}</h2>
<dl><dt>${t.password}</dt><dd>${a.password_hash ? t.passwordSet : t.passwordNone}</dd>
<dt>${t.twoStep}</dt><dd>${a.two_step_enabled_at ? t.on : t.off}</dd></dl>
<h3>${t.labels.methodsList}</h3>${list(file.methods, (m) => html`${m.role} · ${m.method}${m.phone ? html` · ${maskedPhone(m.phone)}` : null} · ${time(m.lastUsedAt, locale)}`)}
<h3>${t.passkeys}</h3>${list(file.passkeys, (p) => html`${p.name} · ${time(p.createdAt, locale)}`)}
<h2>${t.sessions}</h2>${list(file.sessions, (s) => html`${describeBrowser(s.user_agent) ?? "—"} · ${s.ip ?? "—"} · ${time(s.last_seen_at, locale)}`)}
<h2>${t.trusted}</h2>${list(file.trustedDevices, (d) => html`${describeBrowser(d.user_agent) ?? "—"} · ${time(d.last_used_at, locale)}`)}
<h2>${t.apps}</h2>${list(file.apps, (app) => html`${app.name} · ${app.scopes.join(" ")}`)}
</div>
<div class="card"><h2>${t.actions}</h2>
${actionForm(ctx, locale, path, "sign_out_everywhere")}
${a.status === "active" ? actionForm(ctx, locale, path, "suspend") : actionForm(ctx, locale, path, "reopen")}
${a.status !== "closed" ? actionForm(ctx, locale, path, "close") : null}
${a.two_step_enabled_at ? html`<h3>${t.twoStepRecovery}</h3><p class="hint">${t.twoStepRecoveryHint}</p>${actionForm(ctx, locale, path, "reset_two_step")}${actionForm(ctx, locale, path, "reset_two_step_now")}` : null}
</div>
<div class="card"><h2>${t.mails}</h2>
${list(
  file.mails,
  (
    m,
  ) => html`<span data-mail-state="${m.state}">${m.channel} · ${m.template} · ${m.state} (${m.attempts})</span> · ${time(m.createdAt, locale)}${m.lastError ? html` · ${m.lastError}` : null}
${m.state === "failed" ? actionForm(ctx, locale, path, "retry_mail", html`<input type="hidden" name="message" value="${m.id}">`) : null}`,
)}
</div>
<div class="card"><h2>${t.staffActions}</h2>${list(file.staffActions, (s) => html`${time(s.at, locale)} · ${s.staffName} · ${s.action} · ${s.reason}`)}</div>
<div class="card"><h2>${t.events}</h2>${list(
    file.events,
    (e) =>
      html`${time(e.at, locale)} · <code>${e.type}</code> · ${e.actor} · ${e.ip ?? "—"} · ${describeBrowser(e.userAgent) ?? "—"}`,
  )}</div>`;
}

export function resultNotice(locale: Locale, result: Awaited<ReturnType<typeof runConsoleAction>>): string {
  const t = consoleText(locale).results;
  if (result.ok) return format(t.done, { summary: result.summary });
  return result.problem ? `${t[result.reason]} ${result.problem}` : t[result.reason];
}

export function statusOf(result: Awaited<ReturnType<typeof runConsoleAction>>): number {
  if (result.ok) return 200;
  if (result.reason === "forbidden") return 403;
  if (result.reason === "not_found") return 404;
  if (
    result.reason === "already" ||
    result.reason === "not_failed" ||
    result.reason === "erased" ||
    result.reason === "closed" ||
    result.reason === "two_step_off" ||
    result.reason === "already_pending" ||
    result.reason === "changed"
  )
    return 409;
  return 400;
}

const consoleActions: readonly ConsoleAction[] = [
  "sign_out_everywhere",
  "suspend",
  "reopen",
  "close",
  "retry_mail",
  "reset_two_step",
  "reset_two_step_now",
  "maintenance_on",
  "maintenance_off",
];

function parseAction(request: FastifyRequest): ConsoleAction | undefined {
  const value = formField(request, "action");
  return consoleActions.find((a) => a === value);
}

export async function formExpired(
  reply: FastifyReply,
  ctx: StaffContext,
  locale: Locale,
): Promise<FastifyReply> {
  const t = consoleText(locale);
  return sendConsole(reply, 403, {
    locale,
    title: t.title,
    staff: ctx.staff,
    csrfToken: ctx.csrfToken,
    body: html`<div class="card"><p>${t.formExpired}</p></div>`,
  });
}

export function registerConsolePages(app: FastifyInstance, deps: Deps): void {
  app.get("/admin", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    const t = consoleText(request.locale);
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.nav.dashboard,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      body: await dashboardBody(deps, ctx, request.locale),
    });
  });

  app.post("/admin/maintenance", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    if (!checkFormToken(request, deps.config)) return formExpired(reply, ctx, request.locale);
    const action = parseAction(request);
    const result =
      action === "maintenance_on" || action === "maintenance_off"
        ? await runConsoleAction(
            deps,
            ctx.staff,
            { action, reason: formField(request, "reason") },
            requestMeta(request),
          )
        : ({ ok: false, reason: "not_found" } as const);
    const t = consoleText(request.locale);
    return sendConsole(reply, statusOf(result), {
      locale: request.locale,
      title: t.nav.dashboard,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      notice: resultNotice(request.locale, result),
      body: await dashboardBody(deps, ctx, request.locale),
    });
  });

  app.get("/admin/customers", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    const t = consoleText(request.locale).search;
    const q = queryText(request, "q");
    const found = q ? await searchCustomers(deps, q) : [];
    const body = html`<div class="card"><h1>${t.title}</h1>
<form method="get" action="/admin/customers"><label for="q">${t.label}</label><input id="q" name="q" value="${q}" autocomplete="off"><button type="submit">${t.submit}</button></form>
${q && found.length === 0 ? html`<p>${t.none}</p>` : null}
<ul class="results">${found.map((a) => html`<li><a href="/admin/customers/${a.id}">${a.name}</a> · ${a.email} · ${consoleText(request.locale).customer.status[a.status]}</li>`)}</ul>
</div>`;
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      body,
    });
  });

  app.get<{ Params: { id: string } }>("/admin/customers/:id", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    const file = await customerFile(deps, request.params.id.slice(0, 100));
    const t = consoleText(request.locale);
    if (!file)
      return sendConsole(reply, 404, {
        locale: request.locale,
        title: t.title,
        staff: ctx.staff,
        csrfToken: ctx.csrfToken,
        body: html`<div class="card"><p>${t.results.not_found}</p></div>`,
      });
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: file.account.name,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      body: customerBody(ctx, request.locale, file),
    });
  });

  app.post<{ Params: { id: string } }>("/admin/customers/:id/actions", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    if (!checkFormToken(request, deps.config)) return formExpired(reply, ctx, request.locale);
    const accountId = request.params.id.slice(0, 100);
    const action = parseAction(request);
    const message = formField(request, "message");
    const result =
      action && action !== "maintenance_on" && action !== "maintenance_off"
        ? await runConsoleAction(
            deps,
            ctx.staff,
            {
              action,
              reason: formField(request, "reason"),
              accountId,
              ...(message ? { messageId: message } : {}),
            },
            requestMeta(request),
          )
        : ({ ok: false, reason: "not_found" } as const);
    const file = await customerFile(deps, accountId);
    const t = consoleText(request.locale);
    return sendConsole(reply, statusOf(result), {
      locale: request.locale,
      title: file?.account.name ?? t.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      notice: resultNotice(request.locale, result),
      body: file ? customerBody(ctx, request.locale, file) : html``,
    });
  });

  app.get("/admin/staff", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    const t = consoleText(request.locale);
    if (ctx.staff.role !== "admin") {
      return sendConsole(reply, 403, {
        locale: request.locale,
        title: t.staff.title,
        staff: ctx.staff,
        csrfToken: ctx.csrfToken,
        body: html`<div class="card"><p>${t.forbidden}</p></div>`,
      });
    }
    const staff = await listStaff(deps);
    const body = html`<div class="card"><h1>${t.staff.title}</h1><ul>${staff.map(
      (s) =>
        html`<li>${s.name} · ${s.email} · ${t.roles[s.role]} · ${t.staff[s.status]} · ${t.staff.lastSignIn}: ${time(s.last_sign_in_at, request.locale)}</li>`,
    )}</ul><p class="hint"><code>npx mamori staff create EMAIL --name NAME --role support|admin</code></p></div>`;
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.staff.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      body,
    });
  });
}
