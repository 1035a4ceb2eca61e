import assert from "node:assert/strict";
import { test } from "node:test";
import { safeReturnPath } from "./pages.ts";

test("the return path after sign-in cannot leave the site (no open redirect)", () => {
  // Attack: /sign-in?return_to=//evil.example sends a freshly signed-in person to a phishing page.
  for (const hostile of [
    "//evil.example",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "/account\r\nSet-Cookie: x=1",
    "evil.example",
  ]) {
    assert.equal(safeReturnPath(hostile), "/account", hostile);
  }
});

test("a path on this site is kept", () => {
  assert.equal(safeReturnPath("/account/sessions?x=1"), "/account/sessions?x=1");
  assert.equal(safeReturnPath(undefined, "/"), "/");
});
