import { recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import type { Deps } from "../../deps.ts";
import { countryOf } from "../../geo/country.ts";
import { formatDateTime } from "../../i18n/page-text.ts";
import { findAccountByIdentifier } from "../../identity/accounts.ts";
import { parseIdentifier } from "../../identity/identifiers.ts";
import { countryName } from "../../identity/sign-in-context.ts";
import type { RequestMeta } from "../flow-result.ts";

/**
 * A sign-in refused by the shop's country policy is told to the account's owner ("a sign-in from
 * abroad was refused"): a traveller learns why, and an owner who is not travelling learns that
 * someone abroad has the address. The refusal comes before any password is checked, so anyone can
 * cause it: at most one such mail per account per day (`mailsPerDay`), whatever the attempts, so
 * nobody can flood an owner's mailbox by trying again and again. The answer to the request is the
 * same with or without an account (nothing here changes it).
 */
const mailsPerDay = 1;
const day = 86_400;

export function countryRefusalMailKey(accountId: string): string {
  return `country_refused_mail:account:${accountId}`;
}

/** The place a refused connection comes from, as the person reads it ("アメリカ合衆国"), if known. */
export async function refusedPlaceName(ip: string | null, locale: "ja" | "en"): Promise<string | undefined> {
  const place = await countryOf(ip);
  return place.kind === "country" ? countryName(place.code, locale) : undefined;
}

export async function tellOwnerOfCountryRefusal(
  deps: Deps,
  identifierInput: string,
  meta: RequestMeta,
  now: Date,
): Promise<void> {
  const identifier = parseIdentifier(identifierInput);
  const account = identifier ? await findAccountByIdentifier(deps.db, identifier) : undefined;
  if (account?.status !== "active") return;
  const verdict = await deps.throttle.hit(
    countryRefusalMailKey(account.id),
    { limit: mailsPerDay, windowSeconds: day },
    now,
  );
  if (!verdict.allowed) return;
  const lookup = await countryOf(meta.ip);
  const place = lookup.kind === "country" ? countryName(lookup.code, account.locale) : undefined;
  await deps.db.transaction().execute(async (trx) => {
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "sign_in_country_refused",
      name: account.name,
      place: place ?? (account.locale === "ja" ? "不明な場所" : "an unknown place"),
      time: formatDateTime(now.toISOString(), account.locale),
      resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
    });
    await recordAuditEvent(trx, deps, {
      type: "sign_in.country_refused",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      // The activity page names the place from it, as for a sign-in.
      detail: { country: lookup.kind === "country" ? lookup.code : lookup.kind },
    });
  });
  deps.courier.wake();
}
