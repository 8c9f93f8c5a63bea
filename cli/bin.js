#!/usr/bin/env node
// The `sealdrop` executable (package.json "bin"): runs from a checkout without a build step.
// Fast path: a cached bundle of the TypeScript sources, used only when it provably matches them
// (cli/fast-start.js; node_modules/.cache/sealdrop-cli, safe to delete). Otherwise the sources are
// loaded through tsx's ESM register API, as before. Either way only the checkout's own tsconfig.json
// is read (never one in the current directory, which may be a decrypted submission's files), and a
// bare import resolves as from the checkout's root (its node_modules), never from a source folder.
import { register as registerHooks } from 'node:module';
import { RESOLVE_PARENT, TSCONFIG, loadFastCli } from './fast-start.js';

let cli = await loadFastCli();
let load;
if (cli !== null) {
  load = cli.loadCommand;
} else {
  registerHooks('./resolve-hooks.mjs', import.meta.url, { data: { root: new URL('../', import.meta.url).href, parent: RESOLVE_PARENT } });
  const { register } = await import('tsx/esm/api');
  // OpenPGP.js (plain JavaScript, 1.7 MB) is loaded before tsx's hooks are registered: through them
  // its source would go to tsx's loader thread and back, about half of its load time, on every run.
  // The TypeScript modules' `import 'openpgp'` then resolves to this same instance.
  await import('openpgp');
  register({ tsconfig: TSCONFIG });
  cli = { ...(await import('./main.ts')), ...(await import('./io.ts')) };
}
const code = await cli.main(process.argv.slice(2), cli.createNodeIo(), load);
// Let pending stdout/stderr writes drain instead of calling process.exit().
process.exitCode = code;
