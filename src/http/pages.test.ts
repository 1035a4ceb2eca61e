import assert from "node:assert/strict";
import { test } from "node:test";
import { safeReturnPath, safeReturnTarget } from "./pages.ts";

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

test("return_to may name the shop's own site, when it is a configured origin, and nothing else", () => {
  const origins = new Set(["https://shop.example.jp", "https://login.example.jp"]);
  assert.equal(
    safeReturnTarget("https://shop.example.jp/cart?step=2", origins),
    "https://shop.example.jp/cart?step=2",
  );
  assert.equal(safeReturnTarget("/account/security", origins), "/account/security");
  for (const hostile of [
    "https://shop.example.jp.evil.example/",
    "https://evil.example/?https://shop.example.jp",
    "http://shop.example.jp/",
    "https://user:pass@shop.example.jp/",
    "javascript:alert(1)",
    "//shop.example.jp/",
  ]) {
    assert.equal(safeReturnTarget(hostile, origins), "/account", hostile);
  }
});
