import { defineBusyStories } from './stories-busy.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineBusyStories('firefox');
