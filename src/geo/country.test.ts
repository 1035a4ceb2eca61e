import assert from "node:assert/strict";
import { test } from "node:test";
import { countryOf, isCountryAllowed } from "./country.ts";

test("public addresses are placed in their country from the shipped data", async () => {
  assert.deepEqual(await countryOf("133.242.0.1"), { kind: "country", code: "JP" });
  assert.deepEqual(await countryOf("8.8.8.8"), { kind: "country", code: "US" });
  assert.deepEqual(await countryOf("2001:4860:4860::8888"), { kind: "country", code: "US" });
});

test("private and loopback addresses have no country", async () => {
  for (const ip of [
    "127.0.0.1",
    "10.1.2.3",
    "192.168.0.5",
    "172.20.0.1",
    "::1",
    "fd12:3456::1",
    "::ffff:10.0.0.1",
  ]) {
    assert.deepEqual(await countryOf(ip), { kind: "private" }, ip);
  }
  assert.deepEqual(await countryOf("garbage"), { kind: "unknown" });
});

test("sign-in from a country the shop does not allow is refused; its own network is not", async () => {
  const japanOnly = new Set(["JP"]);
  assert.equal(await isCountryAllowed(japanOnly, "133.242.0.1"), true);
  assert.equal(await isCountryAllowed(japanOnly, "8.8.8.8"), false);
  assert.equal(await isCountryAllowed(japanOnly, "192.168.1.10"), true);
  assert.equal(await isCountryAllowed(japanOnly, null), false);
  assert.equal(await isCountryAllowed(new Set(), "8.8.8.8"), true, "no list: everywhere");
});
