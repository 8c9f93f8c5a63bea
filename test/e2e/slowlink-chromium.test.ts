import { defineSlowLinkStories } from './stories-slowlink.ts';

defineSlowLinkStories('chromium', 'ru');
