import { defineCodenameStories } from './stories-codename.ts';

defineCodenameStories('chromium');
