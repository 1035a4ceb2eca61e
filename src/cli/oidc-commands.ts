import type { Deps } from "../deps.ts";
import { checkClientUri, setClientUri } from "../oidc/client-uri.ts";
import { checkRedirectUri, createClient, deleteClient, findClient, listClients } from "../oidc/clients.ts";
import { rotateSigningKeys } from "../oidc/signing-keys.ts";

/**
 * `mamori clients …` and `mamori oidc …`: the shops that may use "Sign in with Mamori", and the
 * keys that sign their ID tokens. Exit 0 done, 1 refused (not found, invalid), 2 usage.
 */
export const oidcUsage = `  clients create --name N --redirect-uri URL [--redirect-uri URL …]
                 [--post-logout-redirect-uri URL …] [--require-two-step]
                 [--backchannel-logout-uri URL] [--public] [--client-uri URL]
                                           register a shop's site for OpenID Connect; prints the
                                           client id and secret (shown once). --public: a
                                           single-page or phone app, no secret, PKCE only
                                           (loopback, https or jp.example.app:/path redirects).
                                           --client-uri: the shop's home page (https), where
                                           「(shop)に戻る」 on the sign-in and account pages leads
  clients create --device --name N [--require-two-step]
                                           register a device without a keyboard (TV app, kiosk):
                                           OAuth device authorization grant, a public client (no
                                           secret); prints the client id
  clients set-client-uri <client id> --client-uri URL
                                           set the shop's home page (https) of a registered client
  clients list                             the registered clients as JSON (never their secrets)
  clients delete <client id>               remove a client and every token issued to it
  oidc rotate-keys                         a new ID-token signing key; the old one stays published
                                           until the next rotation`;

type Output = { out(text: string): void; err(text: string): void };

export type OidcCommandValues = {
  name?: string | undefined;
  "redirect-uri"?: string[] | undefined;
  "post-logout-redirect-uri"?: string[] | undefined;
  "require-two-step"?: boolean | undefined;
  device?: boolean | undefined;
  "backchannel-logout-uri"?: string | undefined;
  public?: boolean | undefined;
  "client-uri"?: string | undefined;
};

function usageError(output: Output, message: string): number {
  output.err(`${message}\n\nUsage:\n${oidcUsage}`);
  return 2;
}

export async function runClients(
  deps: Deps,
  verb: string | undefined,
  target: string | undefined,
  values: OidcCommandValues,
  output: Output,
): Promise<number> {
  if (verb === "create") {
    if (target !== undefined) return usageError(output, "clients create takes options, no argument");
    const name = values.name?.trim() ?? "";
    const redirectUris = values["redirect-uri"] ?? [];
    const postLogoutRedirectUris = values["post-logout-redirect-uri"] ?? [];
    if (!name || name.length > 100)
      return usageError(output, "clients create needs --name (1–100 characters)");
    const device = values.device === true;
    if (device && redirectUris.length + postLogoutRedirectUris.length > 0)
      return usageError(output, "a --device client has no redirect URIs (nothing returns to a browser)");
    if (!device && redirectUris.length === 0)
      return usageError(output, "clients create needs at least one --redirect-uri");
    const allowHttp = deps.config.environment !== "production";
    const publicClient = values.public === true;
    const backchannelLogoutUri = values["backchannel-logout-uri"];
    const clientUri = values["client-uri"];
    const problems = [
      ...[...redirectUris, ...postLogoutRedirectUris].map((uri) =>
        checkRedirectUri(uri, allowHttp, publicClient),
      ),
      // A logout URI is the shop's server, never an app's: https (http on loopback or outside production).
      ...(backchannelLogoutUri === undefined ? [] : [checkRedirectUri(backchannelLogoutUri, allowHttp)]),
      // The way back to the shop on Mamori's pages: never javascript:, never http: but localhost in development.
      ...(clientUri === undefined ? [] : [checkClientUri(clientUri, allowHttp)]),
    ].filter((problem): problem is string => problem !== undefined);
    if (problems.length > 0) {
      output.err(problems.join("\n"));
      return 1;
    }
    const created = await createClient(
      deps.db,
      { clock: deps.clock, random: deps.random, secretKeys: deps.config.secretKeys },
      {
        name,
        redirectUris,
        postLogoutRedirectUris,
        requireTwoStep: values["require-two-step"] === true,
        deviceFlow: device,
        public: publicClient,
        backchannelLogoutUri,
        clientUri,
      },
    );
    output.out(`client_id: ${created.clientId}`);
    if (created.clientSecret !== undefined) output.out(`client_secret: ${created.clientSecret}`);
    output.out(`issuer: ${deps.config.issuer.href}`);
    output.out(
      created.clientSecret !== undefined
        ? "\nThe secret is shown once: put it in the shop's configuration now."
        : device
          ? "\nA device client has no secret: the device asks for a code at the issuer's device_authorization_endpoint."
          : "\nA public client: no secret. The app sends PKCE (S256) with every sign-in.",
    );
    return 0;
  }
  if (verb === "set-client-uri" && target !== undefined) {
    const clientUri = values["client-uri"];
    if (clientUri === undefined) return usageError(output, "clients set-client-uri needs --client-uri URL");
    const problem = checkClientUri(clientUri, deps.config.environment !== "production");
    if (problem !== undefined) {
      output.err(problem);
      return 1;
    }
    if (!(await findClient(deps.db, target))) {
      output.err(`no client ${target}`);
      return 1;
    }
    await setClientUri(deps.db, target, clientUri);
    output.out(`client ${target}: client URI ${clientUri}`);
    return 0;
  }
  if (verb === "list" && target === undefined) {
    output.out(JSON.stringify(await listClients(deps.db), null, 2));
    return 0;
  }
  if (verb === "delete" && target !== undefined) {
    if (!(await deleteClient(deps.db, target))) {
      output.err(`no client ${target}`);
      return 1;
    }
    output.out(`client ${target} deleted; its tokens no longer work`);
    return 0;
  }
  return usageError(output, `unknown clients command: ${[verb, target].filter(Boolean).join(" ")}`);
}

export async function runOidc(
  deps: Deps,
  verb: string | undefined,
  target: string | undefined,
  output: Output,
): Promise<number> {
  if (verb === "rotate-keys" && target === undefined) {
    const rotated = await rotateSigningKeys(deps.db, {
      clock: deps.clock,
      random: deps.random,
      secretKeys: deps.config.secretKeys,
    });
    output.out(`new signing key: ${rotated.current}`);
    if (rotated.previous) output.out(`still published until the next rotation: ${rotated.previous}`);
    return 0;
  }
  return usageError(output, `unknown oidc command: ${[verb, target].filter(Boolean).join(" ")}`);
}
