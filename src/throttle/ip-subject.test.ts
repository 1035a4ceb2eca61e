import assert from "node:assert/strict";
import { test } from "node:test";
import { ipThrottleSubject } from "./ip-subject.ts";

test("an IPv6 address is limited by its /64, so rotating addresses inside it does not escape", () => {
  // Attack: one home line with a /64 tries passwords from 2^64 different addresses.
  assert.equal(ipThrottleSubject("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(ipThrottleSubject("2001:0db8:0001:0002:ffff:eeee:dddd:cccc"), "2001:db8:1:2::/64");
  assert.notEqual(ipThrottleSubject("2001:db8:1:3::1"), ipThrottleSubject("2001:db8:1:2::1"));
  assert.equal(ipThrottleSubject("::1"), "0:0:0:0::/64");
});

test("IPv4 addresses, also when written as IPv4-mapped IPv6, are counted one by one", () => {
  assert.equal(ipThrottleSubject("192.0.2.7"), "192.0.2.7");
  assert.equal(ipThrottleSubject("::ffff:192.0.2.7"), "192.0.2.7");
});

test("no address or a malformed one is one shared subject", () => {
  assert.equal(ipThrottleSubject(null), "unknown");
  assert.equal(ipThrottleSubject("not-an-ip"), "unknown");
});
