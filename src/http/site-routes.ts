import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Deps } from "../deps.ts";
import { isLocale } from "../i18n/locale.ts";
import { pageText } from "../i18n/page-text.ts";
import { html } from "../views/html.ts";
import { cookieName } from "./cookie-names.ts";
import { safeReturnPath, sendPage } from "./pages.ts";
import { localeCookieName } from "./request-context.ts";

/** The language switch, the shop's colours and the sign-in help page. */
export function registerSiteRoutes(app: FastifyInstance, deps: Deps): void {
  // The shop's main colour over the stylesheet's default (MAMORI_BRAND_COLOUR): a stylesheet of
  // this site, so the Content-Security-Policy needs no inline style.
  const brandCss = `:root {\n  --accent: ${deps.config.brands.ja.colour};\n  --accent-ink: #ffffff;\n}\n`;
  app.get("/brand.css", { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header("content-type", "text/css; charset=utf-8")
      .header("cache-control", "public, max-age=300")
      .send(brandCss),
  );
  app.get(
    "/locale/:locale",
    async (
      request: FastifyRequest<{ Params: { locale: string }; Querystring: { return_to?: string } }>,
      reply,
    ) => {
      const locale = request.params.locale;
      if (isLocale(locale)) {
        reply.setCookie(cookieName(deps.config, localeCookieName), locale, {
          path: "/",
          sameSite: "lax",
          secure: deps.config.cookieSecure,
          maxAge: 365 * 86_400,
        });
      }
      return reply.redirect(safeReturnPath(request.query.return_to, "/"), 303);
    },
  );

  app.get("/help/sign-in", async (request, reply) => {
    const locale = request.locale;
    const text = pageText(locale).help;
    const body = html`<h1>${text.title}</h1>
<div class="card" id="password"><h2>${text.passwordTitle}</h2><p>${text.password}</p><p><a href="/password-reset">${pageText(locale).passwordReset.title}</a></p></div>
<div class="card" id="email"><h2>${text.emailTitle}</h2><p>${text.email}</p><p><a href="/email-reminder">${pageText(locale).emailReminder.title}</a></p></div>
<div class="card" id="other"><h2>${text.otherTitle}</h2><p>${text.other}</p></div>
<p><a href="/sign-in">${pageText(locale).signIn.title}</a></p>`;
    return sendPage(reply, 200, { locale, title: text.title, path: "/help/sign-in", body });
  });
}
