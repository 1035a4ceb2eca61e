import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Provider } from "oidc-provider";
import type { Config } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { cookieName } from "../http/cookie-names.ts";
import type { ShopReturn } from "../views/shop-return.ts";
import { checkClientUri, findClientUri } from "./client-uri.ts";
import { findClient } from "./clients.ts";

/**
 * The way back to the shop a person came from ("Sign in with Mamori", OpenID Connect):
 *
 * - the sign-in page shown for a shop's authorization request names that shop (the interaction's
 *   client, read from the interaction the page returns to), with 「{client}に戻る」;
 * - a short-lived cookie, set when the person arrives through the shop (its authorization request
 *   reaches the provider, provider.ts), holds only the shop's client id. Every page of Mamori's
 *   customer pages reads it, looks the client up again and shows 「{client}に戻る」 to its
 *   registered client URI (./client-uri.ts). So a deleted client, a client without a URI, or a
 *   cookie naming no client shows nothing, and the link can only ever lead to a registered shop's
 *   own page, never somewhere a request or a forged cookie names.
 */
declare module "fastify" {
  interface FastifyRequest {
    /** The shop this browser came from, when its cookie names a registered client with a client URI. */
    shopReturn: ShopReturn | null;
  }
}

export const shopCookieBase = "mamori_shop";
/** An hour: long enough to open Login & security from the shop after signing in there. */
export const shopCookieSeconds = 3600;

const clientIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** The Set-Cookie header of the shop cookie: only the client id, HttpOnly, SameSite=Lax, an hour. */
export function shopCookieHeader(config: Pick<Config, "cookieSecure">, clientId: string): string {
  return `${cookieName(config, shopCookieBase)}=${clientId}; Path=/; Max-Age=${shopCookieSeconds}; HttpOnly; SameSite=Lax${config.cookieSecure ? "; Secure" : ""}`;
}

export type ShopClient = { clientId: string; name: string; uri: string | undefined };

/**
 * The registered shop behind a client id, with its client URI when it has one that is still a safe
 * link (checked again here: a row edited by hand must not become a javascript: link).
 */
export async function shopClientOf(
  deps: Pick<Deps, "db" | "config">,
  clientId: string,
): Promise<ShopClient | undefined> {
  if (!clientIdPattern.test(clientId)) return undefined;
  const client = await findClient(deps.db, clientId);
  if (!client) return undefined;
  const uri = await findClientUri(deps.db, clientId);
  const safe =
    uri !== undefined && checkClientUri(uri, deps.config.environment !== "production") === undefined;
  return { clientId, name: client.name, uri: safe ? uri : undefined };
}

export function toShopReturn(shop: ShopClient | undefined): ShopReturn | undefined {
  return shop?.uri === undefined ? undefined : { name: shop.name, uri: shop.uri };
}

const interactionPathPattern = /^\/oidc\/interaction\/([A-Za-z0-9_-]{1,64})$/;

/**
 * The shop whose authorization request a sign-in page returns to (`return_to` is the provider's
 * interaction, `/oidc/interaction/{uid}`), read from the live interaction; undefined otherwise.
 */
export async function shopOfReturnTo(
  deps: Pick<Deps, "db" | "config" | "clock">,
  returnTo: string,
): Promise<ShopClient | undefined> {
  const uid = interactionPathPattern.exec(returnTo)?.[1];
  if (uid === undefined) return undefined;
  const row = await deps.db
    .selectFrom("oidc_model")
    .select("payload")
    .where("model", "=", "Interaction")
    .where("id", "=", uid)
    .where("expires_at", ">", deps.clock.now().toISOString())
    .executeTakeFirst();
  if (!row) return undefined;
  const payload: unknown = JSON.parse(row.payload);
  const params =
    typeof payload === "object" && payload !== null && "params" in payload ? payload.params : undefined;
  const clientId =
    typeof params === "object" && params !== null && "client_id" in params ? params.client_id : undefined;
  return typeof clientId === "string" ? shopClientOf(deps, clientId) : undefined;
}

/** Paths whose pages are not the customer's own (the provider's, the staff console, the API, files). */
const notCustomerPages = ["/api/", "/oidc", "/admin", "/dev/", "/assets/", "/healthz", "/readyz", "/locale/"];

function isCustomerPage(url: string): boolean {
  return !notCustomerPages.some((prefix) => url.startsWith(prefix));
}

/**
 * Fills `request.shopReturn` from the shop cookie on customer pages; sendPage (src/http/pages.ts)
 * puts it in the layout. A request without the cookie costs nothing; one with it, one read of the
 * client (by primary key) and its URI.
 */
export function registerShopReturn(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest("shopReturn", null);
  const name = cookieName(deps.config, shopCookieBase);
  app.addHook("preHandler", (request: FastifyRequest, _reply, done) => {
    const clientId = request.cookies[name];
    if (clientId === undefined || !isCustomerPage(request.url)) {
      done();
      return;
    }
    shopClientOf(deps, clientId).then(
      (shop) => {
        request.shopReturn = toShopReturn(shop) ?? null;
        done();
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

/**
 * Sets the shop cookie when a person arrives through a shop: the shop's authorization request (or
 * its resumption after the sign-in) passed the provider's checks of the client. Also a silent
 * sign-in (no page shown) sets it, so Login & security opened from the shop right after has the
 * way back.
 */
export function rememberShopOnArrival(provider: Provider, config: Pick<Config, "cookieSecure">): void {
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    const clientId = ctx.oidc?.client?.clientId;
    if ((route !== "authorization" && route !== "resume") || clientId === undefined || ctx.status >= 400)
      return;
    ctx.append("set-cookie", shopCookieHeader(config, clientId));
  });
}
