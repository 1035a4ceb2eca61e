import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.ts";

const refused = {
  ja: "送信されたデータに使えない文字（NUL）が含まれています。",
  en: "The request contains a character that cannot be used (NUL).",
} as const;

/** True when a string anywhere in `value` (keys too) holds U+0000. */
export function containsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === "object") {
    return Object.entries(value).some(([key, v]) => key.includes("\u0000") || containsNul(v));
  }
  return false;
}

/**
 * U+0000 in any text a request carries (path parameters, query, JSON or form body) is a 400
 * `invalid_request` before any handler runs. No id, address, name or code holds it, and PostgreSQL
 * can neither store nor compare it: a NUL reaching a query there failed with a 500.
 */
export function registerNulGuard(app: FastifyInstance): void {
  app.addHook("preValidation", (request, _reply, done) => {
    const found = containsNul(request.params) || containsNul(request.query) || containsNul(request.body);
    done(found ? new ApiError("invalid_request", { message: refused[request.locale] }) : undefined);
  });
}
