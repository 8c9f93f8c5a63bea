import { defineCodenameStories } from './stories-codename.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineCodenameStories('firefox');
