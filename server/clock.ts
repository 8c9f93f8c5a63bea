/** @module server/clock — the one source of "now", injected so tests can move time. */

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** The UTC calendar day of a date as 'YYYY-MM-DD': the only precision Sealdrop ever stores. */
export function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** 'YYYY-MM-DD' `days` days before the day of `date`. */
export function daysBefore(date: Date, days: number): string {
  return dayOf(new Date(date.getTime() - days * 86_400_000));
}
