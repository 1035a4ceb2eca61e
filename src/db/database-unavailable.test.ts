import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DatabaseUnavailableError,
  isConnectionFailure,
  isDatabaseUnavailable,
} from "./database-unavailable.ts";

function pgError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

test("connection-class failures are told apart from errors of the query itself", () => {
  for (const failure of [
    pgError("terminating connection due to administrator command", "57P01"),
    pgError("the database system is starting up", "57P03"),
    pgError("the database system is shutting down", "57P03"),
    pgError("canceling statement due to statement timeout", "57014"),
    pgError("connection failure", "08006"),
    pgError("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
    pgError("read ECONNRESET", "ECONNRESET"),
    pgError("Connection terminated unexpectedly"),
    pgError("Connection terminated due to connection timeout"),
    pgError("Query read timeout"),
    pgError("timeout exceeded when trying to connect"),
    pgError("Client has encountered a connection error and is not queryable"),
  ]) {
    assert.equal(isConnectionFailure(failure), true, failure.message);
  }
  for (const fault of [
    pgError('duplicate key value violates unique constraint "account_email_key"', "23505"),
    pgError('syntax error at or near "selec"', "42601"),
    pgError("could not serialize access due to concurrent update", "40001"),
    new TypeError("Cannot read properties of undefined"),
  ]) {
    assert.equal(isConnectionFailure(fault), false, fault.message);
  }
});

test("an outage is recognised through the errors that wrap it, and only an outage", () => {
  const outage = new DatabaseUnavailableError(pgError("Connection terminated unexpectedly"));
  assert.equal(isDatabaseUnavailable(outage), true);
  assert.equal(isDatabaseUnavailable(new Error("while signing in", { cause: outage })), true);
  // A connection-class error the pool did not classify (another service's socket) is not the database's.
  assert.equal(isDatabaseUnavailable(pgError("connect ECONNREFUSED 127.0.0.1:6379", "ECONNREFUSED")), false);
  assert.equal(isDatabaseUnavailable("Connection terminated"), false);
});
