import type { Locale } from "../config/config.ts";
import type { SessionTable } from "../db/schema.ts";
import { countryOf } from "../geo/country.ts";
import { countryName } from "../identity/sign-in-context.ts";
import { describeBrowser } from "../views/user-agent.ts";

/**
 * A signed-in device named as the sign-in activity names one: "Safari (iPhone) · 日本", the browser
 * from its User-Agent and the country of its address — never the raw User-Agent, which is long,
 * unreadable and whatever the client chose to send. `unknown` when the browser cannot be told.
 */
export async function sessionDeviceName(
  locale: Locale,
  session: Pick<SessionTable, "user_agent" | "ip">,
  unknown: string,
): Promise<string> {
  const place = await countryOf(session.ip);
  const country = place.kind === "country" ? countryName(place.code, locale) : undefined;
  return [describeBrowser(session.user_agent) ?? unknown, country].filter(Boolean).join(" · ");
}
