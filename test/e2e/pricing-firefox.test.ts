import { definePricingStories } from './stories-pricing.ts';

// Firefox ESR with the JIT off (Tor Browser "Safer"): base 17, so the tip with a 3 MiB file pays
// 18 bits, about 8 s here (protocol/PROTOCOL.md "Pricing"): long enough for the page to say so.
definePricingStories('firefox', 17);
