/** Weeks start on Monday 00:00 UTC, as ISO 8601 weeks do. */

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, the first Monday of the epoch. */
const MONDAY = 4 * DAY_MS;

/** The Monday 00:00 UTC at or before `t`. */
export function weekStart(t: number): number {
  return t - mod(t - MONDAY, WEEK_MS);
}

/** `YYYY-MM-DD` of a UTC time. */
export function isoDate(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
