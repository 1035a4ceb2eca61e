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
const { runCli } = await import("../src/cli/main.ts");
process.exitCode = await runCli(process.argv.slice(2));
