import { defineSourceStories } from './stories.ts';

defineSourceStories('chromium');
