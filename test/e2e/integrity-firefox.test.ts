import { defineIntegrityStories } from './stories-integrity.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineIntegrityStories('firefox');
