/**
 * @module client/lib/busy-wait — what the page says of a 429 source_busy's wait (the server's
 * `retryAfterSeconds`, server/source/busy-uploads.ts): never sooner than the server said, and
 * within the minute it told: whole minutes, past 90 of them as hours and minutes. Not rounded
 * further (a quarter hour up, as first built, could land after another of her dead tries is
 * swept, whose unsent bytes then refuse large files for the day: attack 9h). Without a usable
 * time (readAnswer keeps only whole seconds, 1 s to 25 h) the page names no number: "later".
 */
import type { MessageKey } from '../i18n/index.ts';

export function busyWait(seconds: number | undefined): [MessageKey, Record<string, string | number>?] {
  if (seconds === undefined) return ['error_source_busy_later'];
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  if (minutes <= 90) return ['error_source_busy', { minutes }];
  const hours = Math.floor(minutes / 60);
  if (minutes % 60 === 0) return ['error_source_busy_hours', { hours }];
  return ['error_source_busy_hours_minutes', { hours, minutes: minutes % 60 }];
}
