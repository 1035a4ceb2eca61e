import { Type } from "typebox";

// Shared pieces of the public API's schemas (shared/API.md). Routes compose them; @fastify/swagger
// turns them into the OpenAPI 3.1 document at /api/openapi.json.

export const ErrorResponse = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: "Stable, snake_case: see the error registry" }),
        message: Type.String({ description: "For people, in the request's language" }),
        field: Type.Optional(Type.String()),
        attemptsLeft: Type.Optional(Type.Integer()),
      },
      { additionalProperties: true },
    ),
  },
  { $id: "Error" },
);

export const LocaleSchema = Type.Union([Type.Literal("ja"), Type.Literal("en")]);

export const AccountResponse = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  phone: Type.Union([Type.String(), Type.Null()]),
  locale: LocaleSchema,
  status: Type.Union([Type.Literal("active"), Type.Literal("suspended"), Type.Literal("closed")]),
});

export const SessionResponse = Type.Object({
  id: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
  expiresAt: Type.String({ format: "date-time" }),
  lastSeenAt: Type.String({ format: "date-time" }),
  token: Type.Optional(
    Type.String({ description: 'Only when the sign-in asked for `"sessionType": "token"`' }),
  ),
});

export const SessionListItem = Type.Object({
  id: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
  expiresAt: Type.String({ format: "date-time" }),
  lastSeenAt: Type.String({ format: "date-time" }),
  current: Type.Boolean(),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
});

export const SessionTypeSchema = Type.Union([Type.Literal("cookie"), Type.Literal("token")]);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** The standard error answers a route can give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponse]));
}
