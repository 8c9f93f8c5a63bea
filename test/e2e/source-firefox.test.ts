import { defineSourceStories } from './stories.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineSourceStories('firefox');
