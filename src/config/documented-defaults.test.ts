import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { backoffSeconds } from "../courier/dispatcher.ts";
import { type Config, type ConfigSource, loadConfig } from "./config.ts";

// The shipped defaults are a security promise an operator reads in README.md ("Configuration"):
// a lockout of 10, a code living 15 minutes, SMS budgets per hour. A default changed in the code
// but not in the table (or the other way) is caught here: every number in the table's `default`
// column of a MAMORI_* row is read from README.md and must be what the code does without the
// variable. Nothing here restates a number, so the table is the one place they are written.

type DocumentedDefault = { variable: string; text: string };

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The rows of the table under "## Configuration": `variable(s) | default(s) | meaning`. */
function configurationRows(): string[][] {
  const section = readme.split(/^## /m).find((part) => part.startsWith("Configuration"));
  assert.ok(section, "README.md has a Configuration section");
  return section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) =>
      line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim()),
    );
}

/** Whether the configuration reads a variable at all: a value that is not a number is a problem named after it. */
function isKnownVariable(name: string): boolean {
  try {
    loadConfig({ ...contextSource, [name]: "not-a-number" });
  } catch (error) {
    return String((error as { problems?: string[] }).problems ?? error).includes(name);
  }
  return false;
}

/**
 * A row names its variables in full or by the part that differs from the first one
 * (`MAMORI_PASSWORD_MIN_LENGTH` / `_MAX_LENGTH`; `…_PER_NUMBER_PER_HOUR` / `_PER_ACCOUNT_`): the
 * short form replaces one run of the first name's words, and the variable it means is the one the
 * configuration knows.
 */
function expandVariable(first: string, short: string): string {
  if (!short.startsWith("_")) return short;
  const cuts = [...first.matchAll(/_/g)].map((m) => m.index).concat(first.length);
  const core = short.endsWith("_") ? short.slice(0, -1) : short;
  const candidates = new Set<string>();
  for (const start of cuts) {
    if (start === first.length) continue;
    for (const end of cuts.filter((cut) => cut > start)) {
      if (!short.endsWith("_") && end !== first.length) continue;
      candidates.add(first.slice(0, start) + core + first.slice(end));
    }
  }
  const known = [...candidates].filter(isKnownVariable);
  assert.equal(known.length, 1, `${short} (after ${first}) names one variable, found ${known.join(", ")}`);
  return known[0] as string;
}

function documentedDefaults(): DocumentedDefault[] {
  const found: DocumentedDefault[] = [];
  for (const [variables = "", defaults = ""] of configurationRows()) {
    const names = [...variables.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1] as string);
    const first = names[0] ?? "";
    if (!first.startsWith("MAMORI_")) continue;
    const values = defaults.split(" / ").map((value) => value.trim());
    assert.equal(values.length, names.length, `one default per variable in the row of ${first}`);
    for (const [index, name] of names.entries()) {
      found.push({ variable: expandVariable(first, name), text: values[index] as string });
    }
  }
  return found;
}

const durationUnits: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86_400 };

/** `900`, `19456`, `14 days`, `1 day`; null for a default that is not a number (`—`, a host name). */
function numberOf(text: string): number | null {
  const plain = /^`(\d+)`$/.exec(text);
  if (plain) return Number(plain[1]);
  const duration = /^(\d+) (second|minute|hour|day)s?$/.exec(text);
  if (duration) return Number(duration[1]) * (durationUnits[duration[2] as string] as number);
  return null;
}

// MAMORI_HIBP_TIMEOUT_MS only means something when the HIBP API is configured.
const contextSource: ConfigSource = { MAMORI_HIBP_URL: "https://api.pwnedpasswords.com" };

/** What a default can change: every limit and lifetime, the HIBP timeout and the webhook settings. */
function observable(config: Config): unknown {
  return { limits: config.limits, hibpTimeoutMs: config.hibp?.timeoutMs, webhooks: config.webhooks };
}

test("every numeric default in README's Configuration table is the shipped default", () => {
  const documented = documentedDefaults().flatMap(({ variable, text }) => {
    const value = numberOf(text);
    return value === null ? [] : [{ variable, value }];
  });
  assert.ok(documented.length >= 35, `the table documents the limits (found ${documented.length})`);
  const shipped = loadConfig(contextSource);
  // The context changes no limit: the limits compared are loadConfig({})'s.
  assert.deepEqual(loadConfig({}).limits, shipped.limits);
  const covered = new Set<string>();
  for (const { variable, value } of documented) {
    // Setting the variable to its documented default changes nothing...
    assert.deepEqual(
      observable(loadConfig({ ...contextSource, [variable]: String(value) })),
      observable(shipped),
      `${variable}: README says ${value}, the code ships something else`,
    );
    // ...and the variable is really read: another value changes what it sets.
    const other = loadConfig({ ...contextSource, [variable]: String(value + 1) });
    const changed = Object.keys(shipped.limits).filter(
      (key) => other.limits[key as keyof Config["limits"]] !== shipped.limits[key as keyof Config["limits"]],
    );
    assert.ok(
      changed.length === 1 ||
        other.hibp?.timeoutMs !== shipped.hibp?.timeoutMs ||
        JSON.stringify(other.webhooks) !== JSON.stringify(shipped.webhooks),
      `${variable} sets one value`,
    );
    for (const key of changed) covered.add(key);
  }
  // No limit ships undocumented.
  assert.deepEqual(
    Object.keys(shipped.limits).filter((key) => !covered.has(key)),
    [],
    "every limit and lifetime has its default in README",
  );
});

test("the outbox's documented retry waits are the ones it uses", () => {
  // README: "… retries after 5 s, doubling, at most 1 hour apart".
  const row = configurationRows().find((cells) => cells[0]?.includes("MAMORI_OUTBOX_MAX_ATTEMPTS"));
  const match = /retries after (\d+) s, doubling, at most (\d+) hours? apart/.exec(row?.[2] ?? "");
  assert.ok(match, "the outbox row documents the retry waits");
  const first = Number(match[1]);
  const cap = Number(match[2]) * 3600;
  assert.equal(backoffSeconds(1), first);
  assert.equal(backoffSeconds(2), first * 2);
  assert.equal(backoffSeconds(3), first * 4);
  assert.equal(backoffSeconds(50), cap);
});
