import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Deps } from "../deps.ts";
import { isLocale } from "../i18n/locale.ts";
import { cookieName } from "./cookie-names.ts";
import { safeReturnPath } from "./pages.ts";
import { localeCookieName } from "./request-context.ts";

/** The language switch and the shop's colours (the sign-in help page is src/help/sign-in-help.ts). */
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
}
