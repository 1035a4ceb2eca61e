import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../deps.ts";
import { sendPage } from "../http/pages.ts";
import { formatDateTime, pageText } from "../i18n/page-text.ts";
import { html } from "../views/html.ts";
import { listDevOutbox } from "./dev-outbox.ts";

/**
 * The development outbox, registered only when MAMORI_DEV_OUTBOX is on (never in production, which
 * the config refuses): without these routes the paths answer 404 like any unknown path.
 */
export function registerDevOutboxRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    "/api/v1/dev/outbox",
    {
      schema: {
        tags: ["development"],
        summary: "Messages sent in development, newest first (404 in production)",
        querystring: Type.Object(
          { to: Type.Optional(Type.String({ maxLength: 320 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            messages: Type.Array(
              Type.Object({
                channel: Type.Union([Type.Literal("email"), Type.Literal("sms"), Type.Literal("voice")]),
                to: Type.String(),
                subject: Type.Optional(Type.String()),
                text: Type.String(),
                code: Type.Optional(Type.String()),
                createdAt: Type.String({ format: "date-time" }),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ messages: await listDevOutbox(deps.db, request.query.to) }),
  );

  app.get(
    "/dev/outbox",
    async (request: import("fastify").FastifyRequest<{ Querystring: { to?: string } }>, reply) => {
      const locale = request.locale;
      const text = pageText(locale).outbox;
      const to = typeof request.query.to === "string" ? request.query.to.slice(0, 320) : undefined;
      const messages = await listDevOutbox(deps.db, to || undefined);
      const body = html`<h1>${text.title}</h1>
<p>${text.intro}</p>
<form method="get" action="/dev/outbox" class="field"><label for="to">${text.filter}</label><input id="to" name="to" type="text" value="${to ?? ""}"></form>
${
  messages.length === 0
    ? html`<p>${text.empty}</p>`
    : html`<table class="outbox"><tbody>${messages.map(
        (
          m,
        ) => html`<tr><td>${formatDateTime(m.createdAt, locale)}<br>${m.channel}<br>${m.to}${m.code ? html`<br>${text.code}: <strong class="code">${m.code}</strong>` : null}</td>
<td>${m.subject ? html`<strong>${m.subject}</strong>` : null}<pre>${m.text}</pre></td></tr>`,
      )}</tbody></table>`
}`;
      return sendPage(reply, 200, { locale, title: text.title, path: "/dev/outbox", body });
    },
  );
}
