import { readdirSync, readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { ApiError } from "../http/errors.ts";
import { errorResponses } from "../http/schemas.ts";
import { policyMessage, problemMessage } from "../i18n/generator-text.ts";
import { allowGeneration, type Generated, generate } from "./generation.ts";
import { formatPasswordList, type OptionsProblem } from "./generator/index.ts";
import { GenerationBody, optionsFromStrings, withDefaults } from "./generator-request.ts";

/** Where the browser loads the generator from: `index.ts` and the files it imports. */
export const generatorScriptDirectory = "/assets/generator/";

// The module's files (tests stay on the server).
const generatorFiles: ReadonlySet<string> = new Set(
  readdirSync(new URL("./generator/", import.meta.url)).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".test.ts"),
  ),
);

const GenerationResponse = Type.Object({
  passwords: Type.Array(Type.String()),
  entropyBits: Type.Number({
    description: "log2 of how many passwords these options allow, each equally likely",
  }),
  strength: Type.Union(
    [Type.Literal("weak"), Type.Literal("fair"), Type.Literal("strong"), Type.Literal("very_strong")],
    {
      description: "From the entropy: under 40 bits weak, 60 fair, 80 strong, then very strong",
    },
  ),
  policy: Type.Object(
    {
      ok: Type.Boolean({
        description: "Whether passwords made with these options are accepted by this site's policy",
      }),
      message: Type.String({ description: "In the request's language" }),
    },
    {
      description:
        "Shorter or weaker lists are fine for other uses; the page does not offer them for this site",
    },
  ),
});

function invalidOptions(problem: OptionsProblem, locale: Locale): ApiError {
  const field =
    "field" in problem ? problem.field : problem.reason === "length_out_of_range" ? "length" : undefined;
  return new ApiError("invalid_options", {
    ...(field ? { field } : {}),
    extra: { reason: problem.reason },
    message: problemMessage(problem, locale),
  });
}

function answer(generated: Generated, locale: Locale) {
  return {
    passwords: generated.passwords,
    entropyBits: Math.round(generated.entropyBits * 10) / 10,
    strength: generated.strength,
    policy: { ok: generated.policy.ok, message: policyMessage(generated.policy, locale) },
  };
}

/**
 * `POST /api/v1/passwords` and `GET /api/v1/passwords` (shared/API.md), and this same generator with
 * its types stripped for the page in the browser (the word list is public/eff-large-wordlist.txt).
 * Passwords are never logged or stored; answers are `no-store`.
 */
export function registerPasswordGeneratorRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const limits = deps.config.limits;

  api.post(
    "/api/v1/passwords",
    {
      schema: {
        tags: ["passwords"],
        summary:
          "Generate passwords or passphrases (unbiased, from a CSPRNG); no sign-in needed, limited per address",
        body: GenerationBody,
        response: { 200: GenerationResponse, ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const refused = await allowGeneration(deps, request.ip);
      if (refused) throw refused;
      const result = generate(withDefaults(request.body), limits);
      if (!result.ok) throw invalidOptions(result.problem, request.locale);
      return answer(result.generated, request.locale);
    },
  );

  const query = Type.Object(
    {
      ...Object.fromEntries(
        Object.keys(GenerationBody.properties).map((key) => [
          key,
          Type.Optional(Type.String({ maxLength: 256 })),
        ]),
      ),
      format: Type.Optional(Type.Union([Type.Literal("txt"), Type.Literal("csv"), Type.Literal("json")])),
    },
    { additionalProperties: false },
  );

  api.get(
    "/api/v1/passwords",
    {
      schema: {
        tags: ["passwords"],
        summary:
          "The same as a download: `format=txt` (one a line) or `csv` (password, entropy_bits, strength) as an attachment; " +
          "options as query parameters (flags true/false)",
        querystring: query,
        response: {
          200: Type.Unknown({ description: "text/plain, text/csv or the JSON of POST" }),
          ...errorResponses(400),
        },
      },
    },
    async (request, reply) => {
      const refused = await allowGeneration(deps, request.ip);
      if (refused) throw refused;
      const { format = "json", ...values } = request.query as Record<string, string | undefined>;
      const parsed = optionsFromStrings(values);
      if (!parsed.ok) throw invalidOptions(parsed.problem, request.locale);
      const result = generate(withDefaults(parsed.options), limits);
      if (!result.ok) throw invalidOptions(result.problem, request.locale);
      if (format === "json") return answer(result.generated, request.locale);
      const { passwords, entropyBits } = result.generated;
      return reply
        .header("content-type", format === "csv" ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8")
        .header("content-disposition", `attachment; filename="passwords.${format}"`)
        .send(formatPasswordList(passwords, entropyBits, format === "csv" ? "csv" : "txt"));
    },
  );

  // The generator's files for the browser, types stripped by Node's own stripper (positions kept,
  // nothing transformed) on first use: it is an experimental API that warns once, so a process
  // that never serves the page never warns. Only the module's own files, by name; the browser
  // follows their relative imports (`./options.ts`) to the same folder.
  const stripped = new Map<string, string>();
  api.get(
    `${generatorScriptDirectory}:file`,
    { schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      const file = request.params.file;
      if (!generatorFiles.has(file)) throw new ApiError("not_found");
      let script = stripped.get(file);
      if (script === undefined) {
        script = stripTypeScriptTypes(readFileSync(new URL(`./generator/${file}`, import.meta.url), "utf8"));
        stripped.set(file, script);
      }
      return reply
        .header("content-type", "text/javascript; charset=utf-8")
        .header("cache-control", "public, max-age=3600")
        .send(script);
    },
  );
}
