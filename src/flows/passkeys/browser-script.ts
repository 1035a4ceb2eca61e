import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";

/**
 * @simplewebauthn/browser's prebuilt UMD bundle (it defines `SimpleWebAuthnBrowser`), served from
 * this origin as a file: the CSP allows scripts from 'self' only, never inline. Read once at start.
 */
export const webauthnScriptPath = "/passkeys/webauthn-browser.js";

// The package exports only its ESM entry; the bundle is read from its installed place, the way
// app.ts finds public/.
const bundleUrl = new URL(
  "../../../node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js",
  import.meta.url,
);

function readBundle(): string {
  return readFileSync(bundleUrl, "utf8");
}

export function registerPasskeyScript(app: FastifyInstance): void {
  const bundle = readBundle();
  app.get(webauthnScriptPath, { schema: { hide: true } }, async (_request, reply) =>
    reply
      .header("content-type", "text/javascript; charset=utf-8")
      .header("cache-control", "public, max-age=3600")
      .send(bundle),
  );
}
