/**
 * @module client/lib/busy-wait — what the page says of a 429 source_busy's wait (the server's
 * `retryAfterSeconds`, server/source/busy-uploads.ts): never sooner than the server said, rounded
 * up as people say it: whole minutes up to 90, then hours and quarter hours. Without a usable time
 * (readAnswer keeps only whole seconds, 1 s to 25 h) the page names no number: "later".
 */
import type { MessageKey } from '../i18n/index.ts';

export function busyWait(seconds: number | undefined): [MessageKey, Record<string, string | number>?] {
  if (seconds === undefined) return ['error_source_busy_later'];
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  if (minutes <= 90) return ['error_source_busy', { minutes }];
  const quarters = Math.ceil(minutes / 15);
  const hours = Math.floor(quarters / 4);
  if (quarters % 4 === 0) return ['error_source_busy_hours', { hours }];
  return ['error_source_busy_hours_minutes', { hours, minutes: (quarters % 4) * 15 }];
}
