import { defineDeskStories } from './stories-desks.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineDeskStories('firefox');
