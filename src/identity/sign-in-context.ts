import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.ts";
import { countryOf } from "../geo/country.ts";
import { describeBrowser } from "../views/user-agent.ts";

/**
 * "New sign-in from Chrome (Windows) in Japan — was this you?" Each account's browsers and
 * countries are remembered; a sign-in from a pair never seen before is worth a mail to the owner
 * (not the first one ever: that is the registration itself).
 */
export type SignInContext = { browser: string; country: string };

export async function signInContextOf(ip: string | null, userAgent: string | null): Promise<SignInContext> {
  const place = await countryOf(ip);
  return {
    browser: describeBrowser(userAgent) ?? "unknown",
    country: place.kind === "country" ? place.code : place.kind,
  };
}

/** Records the pair; true when it is new for an account that had signed in before. */
export async function isNewSignInContext(
  db: Kysely<Schema>,
  accountId: string,
  context: SignInContext,
  now: Date,
): Promise<boolean> {
  const nowText = now.toISOString();
  // The usual case, a known browser and place, is one statement.
  const touched = await db
    .updateTable("sign_in_context")
    .set({ last_seen_at: nowText })
    .where("account_id", "=", accountId)
    .where("browser", "=", context.browser)
    .where("country", "=", context.country)
    .executeTakeFirst();
  if (touched.numUpdatedRows > 0n) return false;
  const earlier = await db
    .selectFrom("sign_in_context")
    .select("browser")
    .where("account_id", "=", accountId)
    .limit(1)
    .executeTakeFirst();
  await db
    .insertInto("sign_in_context")
    .values({ account_id: accountId, ...context, first_seen_at: nowText, last_seen_at: nowText })
    .onConflict((oc) => oc.columns(["account_id", "browser", "country"]).doNothing())
    .execute();
  return earlier !== undefined;
}

/** The place as the owner reads it: "日本" / "Japan", or nothing for the shop's own network. */
export function countryName(code: string, locale: "ja" | "en"): string | undefined {
  if (!/^[A-Z]{2}$/.test(code)) return undefined;
  return new Intl.DisplayNames([locale], { type: "region" }).of(code);
}
