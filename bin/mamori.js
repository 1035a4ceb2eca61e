#!/usr/bin/env node
// `npx mamori …` in the project folder. Mamori is TypeScript run by Node 24's type stripping; npm
// puts the pinned Node 24 (the `node` devDependency) first on PATH, so this check only fails when
// the script is started by hand with an older Node.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `mamori needs Node 24 or newer (this is ${process.version}). Run it through npm: npx mamori …\n`,
  );
  process.exit(2);
}
// Node's compile cache keeps what type stripping made of each file (and V8's bytecode): from the
// second start on, the stripper (about 17 MiB of WebAssembly) is never loaded. Entries are keyed by
// the file's content, so an edited file is stripped again. Workers (`serve --workers N`) run this
// file too. NODE_COMPILE_CACHE, when set, wins.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.(new URL("../node_modules/.cache/node-compile-cache", import.meta.url).pathname);
const { runCli } = await import("../src/cli/main.ts");
process.exitCode = await runCli(process.argv.slice(2));
