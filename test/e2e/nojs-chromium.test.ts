import { defineNoScriptStories } from './stories-nojs.ts';

// Debian's Chromium with JavaScript switched off for the page.
defineNoScriptStories('chromium');
