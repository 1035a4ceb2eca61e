import { AsyncLocalStorage } from "node:async_hooks";
import type { AuthenticatedSession } from "../session/sessions.ts";

/**
 * The Mamori session behind a request to the provider, for the adapter (adapter.ts) to bind the
 * codes and tokens it stores to. oidc-provider hands its adapter no request, so every request to
 * the provider runs inside `withProviderRequest` (a middleware in provider.ts):
 *
 * - an authorization code is bound to the Mamori session of the browser that asked for it: the
 *   session the provider's sign-in check (`mamori_session`) has just accepted;
 * - an access or refresh token is bound to the session of the code or refresh token the shop
 *   presented for it in the same request, which the adapter notes when it finds that row.
 */
export type ProviderRequest = {
  /**
   * The browser's live Mamori session (its cookie), read once when first asked: by the sign-in
   * check and then for the code, which so belongs to the session the check accepted. None for a
   * shop's own requests (token, userinfo, introspection).
   */
  browserSession(): Promise<AuthenticatedSession | undefined>;
  /** The Mamori session of the code or refresh token this request presented, once the adapter found it. */
  presentedSession: string | undefined;
};

const requests = new AsyncLocalStorage<ProviderRequest>();

export function withProviderRequest<T>(
  lookUpBrowserSession: () => Promise<AuthenticatedSession | undefined>,
  run: () => Promise<T>,
): Promise<T> {
  let browserSession: Promise<AuthenticatedSession | undefined> | undefined;
  const request: ProviderRequest = {
    browserSession: () => {
      browserSession ??= lookUpBrowserSession();
      return browserSession;
    },
    presentedSession: undefined,
  };
  return requests.run(request, run);
}

/** The provider request being answered, if the caller runs inside one. */
export function currentProviderRequest(): ProviderRequest | undefined {
  return requests.getStore();
}
