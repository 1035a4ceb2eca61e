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

test("a return path is always fit for a Location header: other characters are percent-encoded", () => {
  // A raw `/あ` in Location made Node throw (ERR_INVALID_CHAR): a 500 instead of a redirect.
  assert.equal(safeReturnPath("/あ"), "/%E3%81%82");
  assert.equal(safeReturnPath("/%E3%81%82"), "/%E3%81%82");
  assert.equal(safeReturnPath("/検索?q=靴#上"), "/%E6%A4%9C%E7%B4%A2?q=%E9%9D%B4#%E4%B8%8A");
  // Percent-encoding that decodes to no text names no page here.
  assert.equal(safeReturnPath("/%E3%81"), "/account");
  assert.equal(safeReturnPath("/a?q=%E3"), "/account");
  assert.equal(safeReturnPath("/\uD800"), "/account");
  const origins = new Set(["https://shop.example.jp"]);
  assert.equal(safeReturnTarget("https://shop.example.jp/あ", origins), "https://shop.example.jp/%E3%81%82");
  assert.equal(safeReturnTarget("https://shop.example.jp/%E3%81", origins), "/account");
});
