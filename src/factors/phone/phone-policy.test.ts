import assert from "node:assert/strict";
import { test } from "node:test";
import { checkPhoneForChannel } from "./phone-policy.ts";

const japanOnly = new Set<string>();

function reason(input: string, channel: "sms" | "voice", allowed = japanOnly): string {
  const check = checkPhoneForChannel(input, channel, allowed);
  return check.ok ? `ok:${check.e164}` : check.reason;
}

test("SMS goes to Japanese mobile numbers (060/070/080/090) written any usual way", () => {
  assert.equal(reason("090-1234-5678", "sms"), "ok:+819012345678");
  assert.equal(reason("+81 80 1234 5678", "sms"), "ok:+818012345678");
  assert.equal(reason("０７０－１２３４－５６７８", "sms"), "ok:+817012345678");
  assert.equal(reason("060-1234-5678", "sms"), "ok:+816012345678");
});

test("a 050 IP phone cannot receive SMS but may take a voice call", () => {
  assert.equal(reason("050-1234-5678", "sms"), "phone_cannot_receive_sms");
  assert.equal(reason("050-1234-5678", "voice"), "ok:+815012345678");
});

test("a landline may take a voice call, never an SMS", () => {
  assert.equal(reason("03-1234-5678", "sms"), "phone_cannot_receive_sms");
  assert.equal(reason("03-1234-5678", "voice"), "ok:+81312345678");
});

test("toll-free, navi-dial and M2M numbers are refused for both", () => {
  for (const number of ["0120-123-456", "0800-123-4567", "0570-123-456", "020-1234-5678"]) {
    for (const channel of ["sms", "voice"] as const) {
      assert.equal(reason(number, channel), "phone_not_allowed", `${number} ${channel}`);
    }
  }
});

test("other countries only when the operator allows them", () => {
  assert.equal(reason("+1 415 555 2671", "sms"), "phone_not_allowed");
  assert.equal(reason("+1 415 555 2671", "sms", new Set(["US"])), "ok:+14155552671");
});

test("what is not a phone number is invalid", () => {
  for (const input of ["", "090", "090-1234-567", "hello", "+81 90 1234 5678 9"]) {
    assert.equal(reason(input, "sms"), "phone_invalid", input);
  }
});
