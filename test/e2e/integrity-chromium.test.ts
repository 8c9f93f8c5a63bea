import { defineIntegrityStories } from './stories-integrity.ts';

// Debian's Chromium.
defineIntegrityStories('chromium');
