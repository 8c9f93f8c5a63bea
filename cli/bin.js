#!/usr/bin/env node
// The `sealdrop` executable (package.json "bin"): loads the TypeScript sources through tsx's ESM
// register API, so the command runs from a checkout without a build step.
import { register } from 'tsx/esm/api';

// OpenPGP.js (plain JavaScript, 1.7 MB) is loaded before tsx's hooks are registered: through them
// its source would go to tsx's loader thread and back, about half of its load time, on every run.
// The TypeScript modules' `import 'openpgp'` then resolves to this same instance.
await import('openpgp');
register();
const { main } = await import('./main.ts');
const { createNodeIo } = await import('./io.ts');
const code = await main(process.argv.slice(2), createNodeIo());
// Let pending stdout/stderr writes drain instead of calling process.exit().
process.exitCode = code;
