import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { checkFormToken, formField } from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { consoleText } from "../i18n/console-text.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import { listClients } from "../oidc/clients.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { listWebhookDeliveries } from "../webhooks/delivery.ts";
import { listWebhookEndpoints } from "../webhooks/endpoints.ts";
import { webhookEventTypes } from "../webhooks/events.ts";
import { type ActionResult, runConsoleAction } from "./console-actions.ts";
import { actionForm, formExpired, resultNotice, statusOf } from "./console-pages.ts";
import type { ServiceAction } from "./console-service-actions.ts";
import { type StaffContext, sendConsole, staffPage } from "./staff-pages.ts";

/**
 * The admins' pages for the service: the shop's webhook endpoints with their delivery log, and the
 * shops' OpenID Connect clients with the signing-key rotation. A support person gets 403 for the
 * page and for every form (the role is checked again by `runConsoleAction`, not by what is shown).
 */
const time = (value: string | null, locale: Locale): string => (value ? formatDateTime(value, locale) : "—");

/** Every value of a repeated form field (checkboxes): formbody gives a string for one, an array for more. */
function formFields(request: FastifyRequest, name: string): string[] {
  const body = request.body;
  if (!body || typeof body !== "object") return [];
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

const webhookActions: readonly ServiceAction[] = [
  "webhook_add",
  "webhook_remove",
  "webhook_rotate_secret",
  "webhook_retry",
];

function secretCard(locale: Locale, secret: string | undefined): SafeHtml | null {
  if (secret === undefined) return null;
  return html`<div class="card notice"><p>${consoleText(locale).webhooks.secretOnce}</p><p><code data-secret>${secret}</code></p></div>`;
}

async function webhooksBody(
  deps: Deps,
  ctx: StaffContext,
  locale: Locale,
  secret?: string,
): Promise<SafeHtml> {
  const t = consoleText(locale).webhooks;
  const endpoints = await listWebhookEndpoints(deps);
  const deliveries = await listWebhookDeliveries(deps, { failedOnly: false, limit: 50 });
  const path = "/admin/webhooks";
  const endpointField = (id: string): SafeHtml => html`<input type="hidden" name="endpoint" value="${id}">`;
  const eventChoices = html`<fieldset><legend>${t.events}</legend>
<label><input type="checkbox" name="events" value="all"> ${t.allEvents}</label>
${webhookEventTypes.map((e) => html`<label><input type="checkbox" name="events" value="${e}"> <code>${e}</code></label>`)}
</fieldset>
<label><input type="checkbox" name="personal_data" value="yes"> ${t.personalData}</label>`;
  return html`${secretCard(locale, secret)}<div class="card"><h1>${t.title}</h1><p>${t.intro}</p>
<h2>${t.endpoints}</h2>
${
  endpoints.length === 0
    ? html`<p>${t.none}</p>`
    : html`<ul>${endpoints.map(
        (
          e,
        ) => html`<li data-endpoint="${e.id}"><code>${e.url}</code> · ${e.events.join(", ")} · ${e.personalData ? t.withPersonalData : t.withoutPersonalData} · ${time(e.createdAt, locale)}${
          e.previousSecretUntil
            ? html` · ${format(t.previousUntil, { time: time(e.previousSecretUntil, locale) })}`
            : null
        }
${actionForm(ctx, locale, path, "webhook_rotate_secret", endpointField(e.id))}
${actionForm(ctx, locale, path, "webhook_remove", endpointField(e.id))}</li>`,
      )}</ul>`
}
<h2>${t.add}</h2>
${actionForm(ctx, locale, path, "webhook_add", html`<label for="webhook-url">${t.url}</label><input id="webhook-url" name="url" type="url" required>${eventChoices}`)}
</div>
<div class="card"><h2>${t.deliveries}</h2>
${
  deliveries.length === 0
    ? html`<p>${t.none}</p>`
    : html`<table><thead><tr><th>${t.created}</th><th>${t.events}</th><th>${t.state}</th><th>${t.attempts}</th><th>${t.lastStatus}</th><th></th></tr></thead><tbody>${deliveries.map(
        (d) =>
          html`<tr data-delivery="${d.id}"><td>${time(d.createdAt, locale)}</td><td><code>${d.event}</code></td><td data-delivery-state="${d.state}">${d.state}</td><td>${d.attempts}</td><td>${d.lastStatus ?? "—"}${d.lastError ? html` · ${d.lastError}` : null}</td><td>${
            d.state === "failed"
              ? actionForm(
                  ctx,
                  locale,
                  path,
                  "webhook_retry",
                  html`<input type="hidden" name="delivery" value="${d.id}">`,
                )
              : null
          }</td></tr>`,
      )}</tbody></table>`
}
</div>`;
}

async function clientsBody(deps: Deps, ctx: StaffContext, locale: Locale): Promise<SafeHtml> {
  const t = consoleText(locale).clients;
  const clients = await listClients(deps.db);
  return html`<div class="card"><h1>${t.title}</h1><p>${t.intro}</p>
${
  clients.length === 0
    ? html`<p>${t.none}</p>`
    : html`<ul>${clients.map(
        (c) =>
          html`<li data-client="${c.clientId}">${c.name} · <code>${c.clientId}</code> · ${t.redirectUris}: ${c.redirectUris.join(" ")}${c.requireTwoStep ? html` · ${t.twoStep}` : null}${c.deviceFlow ? html` · ${t.device}` : null}${c.public ? html` · ${t.public}` : null} · ${time(c.createdAt, locale)}</li>`,
      )}</ul>`
}
<p class="hint">${t.createHint} <code>npx mamori clients create --name NAME --redirect-uri URL</code> · <code>npx mamori clients delete CLIENT_ID</code></p>
</div>
<div class="card"><h2>${t.keys}</h2><p>${t.keysIntro}</p>
${actionForm(ctx, locale, "/admin/clients", "signing_keys_rotate")}
</div>`;
}

async function forbidden(
  reply: FastifyReply,
  ctx: StaffContext,
  locale: Locale,
  title: string,
): Promise<FastifyReply> {
  return sendConsole(reply, 403, {
    locale,
    title,
    staff: ctx.staff,
    csrfToken: ctx.csrfToken,
    body: html`<div class="card"><p>${consoleText(locale).forbidden}</p></div>`,
  });
}

export function registerConsoleServicePages(app: FastifyInstance, deps: Deps): void {
  app.get("/admin/webhooks", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    const t = consoleText(request.locale);
    if (ctx.staff.role !== "admin") return forbidden(reply, ctx, request.locale, t.webhooks.title);
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.webhooks.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      body: await webhooksBody(deps, ctx, request.locale),
    });
  });

  app.post("/admin/webhooks", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    if (!checkFormToken(request, deps.config)) return formExpired(reply, ctx, request.locale);
    const t = consoleText(request.locale);
    const value = formField(request, "action");
    const action = webhookActions.find((a) => a === value);
    const endpointId = formField(request, "endpoint");
    const deliveryId = formField(request, "delivery");
    const result: ActionResult = action
      ? await runConsoleAction(
          deps,
          ctx.staff,
          {
            action,
            reason: formField(request, "reason"),
            ...(endpointId ? { endpointId } : {}),
            ...(deliveryId ? { deliveryId } : {}),
            ...(action === "webhook_add"
              ? {
                  endpoint: {
                    url: formField(request, "url").slice(0, 2000),
                    events: formFields(request, "events").slice(0, 50),
                    personalData: formField(request, "personal_data") === "yes",
                  },
                }
              : {}),
          },
          requestMeta(request),
        )
      : { ok: false, reason: "not_found" };
    if (!result.ok && result.reason === "forbidden")
      return forbidden(reply, ctx, request.locale, t.webhooks.title);
    return sendConsole(reply, statusOf(result), {
      locale: request.locale,
      title: t.webhooks.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      notice: resultNotice(request.locale, result),
      body: await webhooksBody(deps, ctx, request.locale, result.ok ? result.secret : undefined),
    });
  });

  app.get("/admin/clients", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    const t = consoleText(request.locale);
    if (ctx.staff.role !== "admin") return forbidden(reply, ctx, request.locale, t.clients.title);
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.clients.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      body: await clientsBody(deps, ctx, request.locale),
    });
  });

  app.post("/admin/clients", async (request, reply) => {
    const ctx = await staffPage(deps, request, reply);
    if (!ctx) return reply;
    if (!checkFormToken(request, deps.config)) return formExpired(reply, ctx, request.locale);
    const t = consoleText(request.locale);
    const result: ActionResult =
      formField(request, "action") === "signing_keys_rotate"
        ? await runConsoleAction(
            deps,
            ctx.staff,
            { action: "signing_keys_rotate", reason: formField(request, "reason") },
            requestMeta(request),
          )
        : { ok: false, reason: "not_found" };
    if (!result.ok && result.reason === "forbidden")
      return forbidden(reply, ctx, request.locale, t.clients.title);
    return sendConsole(reply, statusOf(result), {
      locale: request.locale,
      title: t.clients.title,
      staff: ctx.staff,
      csrfToken: ctx.csrfToken,
      notice: resultNotice(request.locale, result),
      body: await clientsBody(deps, ctx, request.locale),
    });
  });
}
