import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { listPasskeys } from "../../factors/passkey/passkeys.ts";
import { userHandleOf } from "../../factors/passkey/webauthn.ts";
import { authOf, requireSession } from "../../http/request-context.ts";
import { errorResponses } from "../../http/schemas.ts";

/**
 * What public/passkeys.js tells the browser's passkey provider (WebAuthn Level 3's Signal API) on
 * the passkeys page and after a passkey sign-in: which of this account's passkeys Mamori still
 * accepts (`signalAllAcceptedCredentials`: a removed one stops being offered) and the account's
 * current email and name (`signalCurrentUserDetails`: the provider's list shows the new ones).
 * Only the signed-in account's own passkeys; credential ids are not secrets (the browser sends them
 * to anyone who asks for a sign-in) but they are listed for their owner only.
 */
export const passkeySignalsPath = "/api/v1/passkeys/signals";

const base64url = Type.String({ pattern: "^[A-Za-z0-9_-]*$" });

export const PasskeySignalsSchema = Type.Object({
  rpId: Type.String({ description: "The relying-party ID the passkeys are bound to (MAMORI_RP_ID)" }),
  userId: Type.String({
    pattern: "^[A-Za-z0-9_-]*$",
    description: "The WebAuthn user handle, base64url (as in the registration options' user.id)",
  }),
  name: Type.String({ description: "The user name passkey providers show: the account's email" }),
  displayName: Type.String({ description: "The account's name" }),
  acceptedCredentialIds: Type.Array(base64url, {
    description: "base64url ids of every passkey of the account Mamori accepts now",
  }),
});

export function registerPasskeySignalRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    passkeySignalsPath,
    {
      preHandler: requireSession(deps),
      schema: {
        tags: ["passkeys"],
        summary:
          "What the browser's passkey provider should know (WebAuthn Signal API): the passkeys Mamori accepts for this account, and its current email and name",
        response: { 200: PasskeySignalsSchema, ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      const { account } = authOf(request);
      const passkeys = await listPasskeys(deps.db, account.id);
      reply.header("cache-control", "no-store");
      return {
        rpId: deps.config.passkeys.rpId,
        userId: userHandleOf(account.id),
        name: account.email,
        displayName: account.name,
        acceptedCredentialIds: passkeys.map((passkey) => passkey.credential_id),
      };
    },
  );
}
