import { defineMetadataStories } from './stories-metadata.ts';

defineMetadataStories('chromium');
