// The part of panva's `oidc-provider` (9.x) that Mamori uses; the package ships no types.
// Shapes follow its documentation (docs/README.md of the package) and lib/provider.js.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export type AdapterPayload = Record<string, unknown> & {
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: number;
    jti?: string;
  };

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export type ClaimsValue = string | number | boolean | string[] | null | undefined;

  export type Account = {
    accountId: string;
    claims(use: "id_token" | "userinfo", scope: string): Promise<Record<string, ClaimsValue>>;
  };

  export type OIDCSession = { accountId?: string; acr?: string; amr?: string[]; loginTs?: number };

  export type OIDCClient = { clientId: string; clientName?: string; [key: string]: unknown };

  export type KoaContext = {
    req: IncomingMessage;
    res: ServerResponse;
    host: string;
    type: string;
    body: unknown;
    status: number;
    set(name: string, value: string): void;
    append(name: string, value: string): void;
    oidc: {
      session: OIDCSession;
      params: Record<string, unknown>;
      client?: OIDCClient;
      route: string;
      prompts: Set<string>;
      result?: Record<string, unknown>;
      entities: Record<string, unknown>;
    };
  };

  export type InteractionDetails = {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown> & { client_id: string; scope?: string };
    session?: { accountId?: string };
    grantId?: string;
    lastSubmission?: Record<string, unknown>;
    returnTo: string;
  };

  export type InteractionResults = {
    login?: { accountId: string; acr?: string; amr?: string[]; ts?: number; remember?: boolean };
    consent?: { grantId: string };
    error?: string;
    error_description?: string;
  };

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    static find(id: string): Promise<Grant | undefined>;
    jti: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  /** A Device Authorization Grant's code (RFC 8628), as lib/models/device_code.js keeps it. */
  export class DeviceCode {
    static findByUserCode(
      userCode: string,
      options?: { ignoreExpiration?: boolean },
    ): Promise<DeviceCode | undefined>;
    jti: string;
    clientId: string;
    readonly isExpired: boolean;
    accountId?: string;
    acr?: string;
    amr?: string[];
    authTime?: number;
    grantId?: string;
    scope?: string;
    error?: string;
    errorDescription?: string;
    deviceInfo?: { ip?: string; ua?: string };
    params?: Record<string, unknown>;
    save(): Promise<string>;
  }

  export type Configuration = Record<string, unknown>;

  export class Provider {
    constructor(issuer: string, configuration: Configuration);
    proxy: boolean;
    readonly issuer: string;
    Grant: typeof Grant;
    DeviceCode: typeof DeviceCode;
    Client: { prototype: object; find(id: string): Promise<object | undefined> };
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    on(event: string, listener: (...args: unknown[]) => void): this;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): this;
  }

  export class Check {
    constructor(reason: string, description: string, check: (ctx: KoaContext) => boolean | Promise<boolean>);
    constructor(
      reason: string,
      description: string,
      error: string,
      check: (ctx: KoaContext) => boolean | Promise<boolean>,
    );
    static REQUEST_PROMPT: true;
    static NO_NEED_TO_PROMPT: false;
  }

  export class Prompt {
    name: string;
    checks: Check[] & { add(check: Check, index?: number): void; remove(reason: string): void };
  }

  export type Policy = Prompt[] & { get(name: string): Prompt | undefined };

  export const interactionPolicy: {
    Check: typeof Check;
    Prompt: typeof Prompt;
    base(): Policy;
  };

  export const errors: {
    InvalidGrant: new (detail?: string) => Error;
  };

  export default Provider;
}
