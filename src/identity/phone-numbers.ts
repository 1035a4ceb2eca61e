import { createRequire } from "node:module";
import type * as PhoneNumbers from "libphonenumber-js/max";

export type { CountryCode, PhoneNumber } from "libphonenumber-js/max";

// libphonenumber's full metadata (every country's numbering plan, a few MiB in memory) is loaded on
// the first phone number, not at start: a shop whose customers sign in with email never holds it.
const load = createRequire(import.meta.url);
let library: typeof PhoneNumbers | undefined;

/** libphonenumber-js's `parsePhoneNumberFromString` ("max" metadata: line types too). */
export const parsePhoneNumberFromString: typeof PhoneNumbers.parsePhoneNumberFromString = (...args) => {
  library ??= load("libphonenumber-js/max") as typeof PhoneNumbers;
  return library.parsePhoneNumberFromString(...args);
};
