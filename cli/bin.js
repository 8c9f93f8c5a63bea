#!/usr/bin/env node
// The `sealdrop` executable (package.json "bin"): loads the TypeScript sources through tsx's ESM
// register API, so the command runs from a checkout without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const { createNodeIo } = await import('./io.ts');
const code = await main(process.argv.slice(2), createNodeIo());
// Let pending stdout/stderr writes drain instead of calling process.exit().
process.exitCode = code;
