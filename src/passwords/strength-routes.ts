import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { ApiError, errorMessage } from "../http/errors.ts";
import { errorResponses } from "../http/schemas.ts";
import { crackTimeDisplay, strengthSuggestions, strengthWarning } from "../i18n/strength-text.ts";
import { ipThrottleSubject } from "../throttle/ip-subject.ts";
import { checkBreached } from "./breach-check.ts";
import { assessPassword, type PasswordCheck, type PasswordOwner } from "./policy.ts";
import { isCommonPassword, maxScoredLength } from "./strength.ts";
import { createStrengthQueue } from "./strength-queue.ts";
import { type StrengthLevel, strengthLevel } from "./strength-scale.ts";

const StrengthRequest = Type.Object(
  {
    password: Type.String({ maxLength: 4096 }),
    userInputs: Type.Optional(
      Type.Array(Type.String({ maxLength: 320 }), {
        maxItems: 10,
        description: "The person's name and email, as typed so far: a password containing them is refused",
      }),
    ),
  },
  { additionalProperties: false },
);

const StrengthResponse = Type.Object({
  score: Type.Integer({
    minimum: 0,
    maximum: 4,
    description: `zxcvbn's score of the password's first ${maxScoredLength} characters (a longer password is judged by its start)`,
  }),
  guessesLog10: Type.Number({ description: `Of the first ${maxScoredLength} characters, as \`score\`` }),
  level: Type.Integer({
    minimum: 0,
    maximum: 4,
    description:
      "The meter's label (0 very weak to 4 very strong), from `crackTime.seconds` on one scale: under 100 s, " +
      "10⁴ s (about 3 hours), 10⁶ s (about 12 days), 10⁸ s (about 3 years), then 4. Unlike `score`, it never " +
      "calls a password that falls in hours strong",
  }),
  crackTime: Type.Object(
    {
      seconds: Type.Number(),
      display: Type.String({ description: "In the request's language, e.g. 「3時間」 or `3 hours`" }),
    },
    { description: "Offline attack on a slow hash (10⁴ guesses a second)" },
  ),
  feedback: Type.Object({
    warning: Type.Union([Type.String(), Type.Null()]),
    suggestions: Type.Array(Type.String(), { description: "The most useful first" }),
  }),
  breached: Type.Boolean({
    description:
      "On the offline list of the most used leaked passwords, or (when MAMORI_HIBP_URL is set) known to the range API",
  }),
  policy: Type.Object(
    {
      ok: Type.Boolean(),
      code: Type.Optional(
        Type.String({ description: "The error registration would give, e.g. `password_too_weak`" }),
      ),
      message: Type.Optional(Type.String({ description: "That error's message, in the request's language" })),
    },
    {
      description:
        "What the server's password policy would say with `userInputs` as the person's name and email",
    },
  ),
});

type StrengthAnswer = {
  score: number;
  guessesLog10: number;
  level: StrengthLevel;
  crackTime: { seconds: number; display: string };
  feedback: { warning: string | null; suggestions: string[] };
  breached: boolean;
  policy: { ok: boolean; code?: string; message?: string };
};

/**
 * The policy reads a person as one email and a name: the first input with an "@" is the email,
 * the rest are name words (any further address is then a name word, still refused whole).
 */
export function ownerFromUserInputs(userInputs: readonly string[]): PasswordOwner {
  const inputs = userInputs.map((input) => input.trim()).filter((input) => input !== "");
  const email = inputs.find((input) => input.includes("@")) ?? "";
  return { email, name: inputs.filter((input) => input !== email).join(" ") };
}

function policyAnswer(check: PasswordCheck, locale: Locale): StrengthAnswer["policy"] {
  if (check.ok) return { ok: true };
  const values = "values" in check.problem ? check.problem.values : {};
  return {
    ok: false,
    code: check.problem.code,
    message: errorMessage(check.problem.code, locale, { values }),
  };
}

/** zxcvbn's estimate in the request's language, with the policy's verdict beside it. */
export function strengthAnswer(
  password: string,
  userInputs: readonly string[],
  limits: Deps["config"]["limits"],
  locale: Locale,
): StrengthAnswer {
  const { check, estimate } = assessPassword(password, ownerFromUserInputs(userInputs), limits);
  const seconds = estimate.crackTimes.offlineSlowHashingXPerSecond.seconds;
  return {
    score: estimate.score,
    guessesLog10: estimate.guessesLog10,
    level: strengthLevel(seconds),
    crackTime: { seconds, display: crackTimeDisplay(seconds, locale) },
    feedback: {
      warning: strengthWarning(estimate.feedback.warning, locale),
      suggestions: strengthSuggestions(estimate.feedback.suggestions, locale),
    },
    breached: isCommonPassword(password.normalize("NFC")),
    policy: policyAnswer(check, locale),
  };
}

/** `POST /api/v1/passwords/strength`: the live strength meter's question (shared/API.md). */
export function registerPasswordStrengthRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const perIp = { limit: deps.config.limits.passwordStrengthChecksPerIpPerMinute, windowSeconds: 60 };
  // One per app: zxcvbn's runs take turns on this process's event loop (strength-queue.ts).
  const queue = createStrengthQueue();

  api.post(
    "/api/v1/passwords/strength",
    {
      schema: {
        tags: ["passwords"],
        summary:
          "How guessable a password is (zxcvbn, ja/en/common dictionaries) and whether the policy would take it. " +
          "No sign-in needed; limited per address. The password is never stored or logged",
        body: StrengthRequest,
        response: { 200: StrengthResponse, ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      // Counted before zxcvbn runs: each answer costs up to ~35 ms of the event loop, so this
      // cannot become a free password-scoring service (nor a way to stall sign-ins).
      const subject = ipThrottleSubject(request.ip);
      const verdict = await deps.throttle.hit(`password-strength:ip:${subject}`, perIp, deps.clock.now());
      if (!verdict.allowed)
        throw new ApiError("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
      // The response closed before it was sent: the client went away (a timeout, a closed tab).
      const clientGone = new AbortController();
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) clientGone.abort();
      });
      const queued = await queue.run(
        subject,
        () =>
          strengthAnswer(
            request.body.password,
            request.body.userInputs ?? [],
            deps.config.limits,
            request.locale,
          ),
        clientGone.signal,
      );
      // This address already has 128 runs waiting (or the queue is full): ask again in a second.
      // (A client that went away reads no answer.)
      if (!queued.ok) throw new ApiError("too_many_attempts", { retryAfterSeconds: 1 });
      const answer = queued.value;
      if (answer.breached || !deps.config.hibp) return answer;
      // Only what the offline list did not know is asked of the range API.
      const known = await checkBreached(deps, request.body.password.normalize("NFC"));
      if (!known.breached || !answer.policy.ok) return { ...answer, breached: known.breached };
      return {
        ...answer,
        breached: true,
        policy: {
          ok: false,
          code: "password_too_common",
          message: errorMessage("password_too_common", request.locale),
        },
      };
    },
  );
}
