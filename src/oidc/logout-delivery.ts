import type { Deps } from "../deps.ts";
import { logoutNoticeOf } from "./backchannel-logout.ts";
import { createOidcService } from "./provider.ts";

/**
 * The outbox's delivery of a Back-Channel Logout token (./backchannel-logout.ts): signed now by the
 * provider with the current ID-token key, POSTed to the shop's `backchannel_logout_uri`. Throws
 * when the shop does not take it (not 200/204, no answer within 2.5 s): the dispatcher retries.
 * A shop deleted since, or one that no longer registers a URI, has nothing to receive.
 */
export async function deliverLogoutNotice(
  deps: Deps,
  row: { recipient: string; text_body: string },
): Promise<void> {
  const notice = logoutNoticeOf(row);
  if (!notice) throw new Error("an outbox logout row without a subject");
  await createOidcService(deps).sendLogoutToken(notice.clientId, notice.sub, notice.sid);
}
