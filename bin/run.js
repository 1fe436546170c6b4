#!/usr/bin/env node
// Entry point. Plain JavaScript that any Node parses, so that the version check runs before anything
// (oclif, better-sqlite3's native module) that needs Node >= 22 is loaded.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `airlock needs Node.js 22.12 or newer and this is ${process.version}: run bin/bootstrap, which installs Node 24 ` +
      `into .tools/, then use bin/airlock (or put .tools/node24/node_modules/node/bin first on PATH).\n`,
  );
  process.exit(2);
}
const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
