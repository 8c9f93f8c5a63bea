// Worker-thread entry for server/source/key-check-pool.ts: plain JavaScript, so that it starts
// under any loader, then TypeScript through tsx for the real work.
import { register } from 'tsx/esm/api';

register();
await import('./key-check-worker.ts');
