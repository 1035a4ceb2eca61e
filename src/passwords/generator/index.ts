// The password generator. These files run on the server (API, CLI, the page without JavaScript)
// and, with their types stripped, in the browser (/assets/generator/index.ts and its neighbours),
// where the passwords never cross the network. So they import only each other and use only what
// both have.
export * from "./characters.ts";
export * from "./options.ts";
export * from "./output.ts";
export * from "./passphrase.ts";
export * from "./random.ts";
