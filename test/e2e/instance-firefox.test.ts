import { defineInstanceStories } from './stories-instance.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineInstanceStories('firefox');
