import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

test("database, readiness and shutdown waits are bounded by default", () => {
  const { timeouts } = loadConfig({});
  assert.deepEqual(timeouts, {
    databaseConnectMs: 5000,
    databaseQueryMs: 10_000,
    readyCheckMs: 2000,
    shutdownSeconds: 10,
  });
});

test("a wait can be shortened or lengthened within its bounds, never turned off", () => {
  const { timeouts } = loadConfig({
    MAMORI_DATABASE_CONNECT_TIMEOUT_MS: "100",
    MAMORI_DATABASE_QUERY_TIMEOUT_MS: "300000",
    MAMORI_READY_TIMEOUT_MS: "250",
    MAMORI_SHUTDOWN_TIMEOUT_SECONDS: "1",
  });
  assert.deepEqual(timeouts, {
    databaseConnectMs: 100,
    databaseQueryMs: 300_000,
    readyCheckMs: 250,
    shutdownSeconds: 1,
  });
  // 0 would mean "wait for ever" to the driver: refused, as is anything outside the bounds.
  const error = (() => {
    try {
      loadConfig({
        MAMORI_DATABASE_CONNECT_TIMEOUT_MS: "0",
        MAMORI_DATABASE_QUERY_TIMEOUT_MS: "300001",
        MAMORI_READY_TIMEOUT_MS: "fast",
        MAMORI_SHUTDOWN_TIMEOUT_SECONDS: "301",
      });
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  assert.ok(error instanceof ConfigError);
  assert.equal(error.problems.length, 4, error.problems.join("\n"));
  for (const name of [
    "MAMORI_DATABASE_CONNECT_TIMEOUT_MS",
    "MAMORI_DATABASE_QUERY_TIMEOUT_MS",
    "MAMORI_READY_TIMEOUT_MS",
    "MAMORI_SHUTDOWN_TIMEOUT_SECONDS",
  ]) {
    assert.ok(
      error.problems.some((problem) => problem.startsWith(name)),
      name,
    );
  }
});
