import { isUtf8 } from "node:buffer";
import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.ts";

/** True when every string (and key) in a parsed JSON value is well-formed Unicode (no lone surrogates). */
export function isWellFormedJson(value: unknown): boolean {
  if (typeof value === "string") return value.isWellFormed();
  if (Array.isArray(value)) return value.every(isWellFormedJson);
  if (value && typeof value === "object") {
    return Object.entries(value).every(([key, v]) => key.isWellFormed() && isWellFormedJson(v));
  }
  return true;
}

/**
 * Strict JSON bodies: valid UTF-8, valid JSON, no lone surrogates (`"\ud800"` is valid JSON but
 * not text), no `__proto__` keys. Anything else is a 400 `invalid_request`, never a 500.
 */
const bodyProblems = {
  utf8: { ja: "送信されたデータが UTF-8 ではありません。", en: "The body is not valid UTF-8." },
  json: { ja: "送信されたデータが正しい JSON ではありません。", en: "The body is not valid JSON." },
  unicode: { ja: "送信されたデータに不正な文字が含まれています。", en: "The body contains invalid Unicode." },
} as const;

/** True for `application/json`, with or without parameters such as `; charset=utf-8`. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "application/json";
}

export function registerJsonParser(app: FastifyInstance): void {
  // The JSON API takes JSON only: a text or form body there is a 415, although the pages' parsers
  // could read it (a cross-site form can send those types without a CORS preflight).
  app.addHook("preParsing", async (request) => {
    const hasBody =
      request.headers["transfer-encoding"] !== undefined ||
      (request.headers["content-length"] ?? "0") !== "0";
    if (request.url.startsWith("/api/") && hasBody && !isJsonMediaType(request.headers["content-type"])) {
      throw new ApiError("unsupported_media_type");
    }
  });
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    // The locale was set in onRequest, which runs before bodies are parsed.
    const invalid = (problem: keyof typeof bodyProblems) =>
      new ApiError("invalid_request", { message: bodyProblems[problem][request.locale] });
    const buffer = body as Buffer;
    if (buffer.length === 0) {
      done(null, undefined);
      return;
    }
    if (!isUtf8(buffer)) {
      done(invalid("utf8"), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(buffer.toString("utf8"), (key, value: unknown) => {
        if (key === "__proto__" || key === "constructor") throw new SyntaxError("forbidden key");
        return value;
      });
    } catch {
      done(invalid("json"), undefined);
      return;
    }
    if (!isWellFormedJson(parsed)) {
      done(invalid("unicode"), undefined);
      return;
    }
    done(null, parsed);
  });
}
