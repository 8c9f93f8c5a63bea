/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (alphabetical). Each module exports
 * `async function run(): Promise<void>` that prints its own figures. Benches assert nothing.
 * `npm run bench -- source-api` runs only the files whose name contains one of the arguments.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();

if (files.length === 0) {
  console.error(`bench: no bench/*.bench.ts${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}

let failed = 0;
for (const name of files) {
  console.log(`\n== ${name} ==`);
  try {
    const module = (await import(pathToFileURL(join(dir, name)).href)) as { run?: () => Promise<void> };
    if (typeof module.run !== 'function') throw new Error(`${name} exports no run() function`);
    await module.run();
  } catch (error) {
    failed++;
    console.error(`bench: ${name} failed:`, error);
  }
}
process.exit(failed ? 1 : 0);
