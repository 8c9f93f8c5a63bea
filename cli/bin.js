#!/usr/bin/env node
// The `sealdrop` executable (package.json "bin"): runs from a checkout without a build step.
// Fast path: a cached bundle of the TypeScript sources, used only when it provably matches them
// (cli/fast-start.js; node_modules/.cache/sealdrop-cli, safe to delete). Otherwise the sources are
// loaded through tsx's ESM register API, as before. Either way only the checkout's own tsconfig.json
// is read (never one in the current directory, which may be a decrypted submission's files), and a
// bare import resolves as from the checkout's root (its node_modules), never from a source folder.
import { spawnSync } from 'node:child_process';
import { register as registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RESOLVE_PARENT, TSCONFIG, loadFastCli } from './fast-start.js';

// Node flags that load code into every module graph or change how imports resolve (a shell's
// NODE_OPTIONS=--import=tsx reads the tsconfig.json of the current directory — a decrypted
// submission's attachment — and maps this CLI's imports through it): sealdrop runs itself again
// without them: without NODE_OPTIONS when it holds one, and without those of node's own arguments
// (other arguments, e.g. --cpu-prof, are kept).
const LOADING_FLAG = /^(?:--import|--loader|--experimental-loader|--require|-r|--conditions|-C|--experimental-default-type|--experimental-specifier-resolution|--preserve-symlinks|--preserve-symlinks-main)(?:=|$)/;
const withoutLoadingFlags = (args) => {
  const kept = [];
  for (let i = 0; i < args.length; i++) {
    if (!LOADING_FLAG.test(args[i])) kept.push(args[i]);
    else if (!args[i].includes('=') && !args[i].startsWith('--preserve-symlinks')) i++; // `--import x`: its value too
  }
  return kept;
};
const nodeOptions = process.env.NODE_OPTIONS ?? '';
const execArgv = withoutLoadingFlags(process.execArgv);
if (execArgv.length !== process.execArgv.length || nodeOptions.split(/\s+/).some((word) => LOADING_FLAG.test(word.replace(/^["']/, '')))) {
  if (process.env.SEALDROP_CLEAN_NODE === '1') {
    process.stderr.write('sealdrop: error: Node was started with flags that load code or change how imports resolve\n'
      + 'sealdrop: hint: run sealdrop without NODE_OPTIONS: env -u NODE_OPTIONS sealdrop …\n');
    process.exit(1);
  }
  const env = { ...process.env, SEALDROP_CLEAN_NODE: '1' };
  delete env.NODE_OPTIONS;
  const child = spawnSync(process.execPath, [...execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(child.status ?? 1);
}
delete process.env.SEALDROP_CLEAN_NODE;

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
