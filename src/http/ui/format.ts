// How the console writes times and durations. Times are UTC (the daemon does not know the reader's
// zone); each <time> element carries the exact ISO instant in its datetime and title attributes.
import { html, type Html } from './html.js';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const WEEK_MS = 7 * 86_400_000;

const pad = (n: number): string => String(n).padStart(2, '0');

/** "Tuesday 14:02" within the past week, "2026-11-03 14:02" otherwise (UTC). */
export function shortTime(date: Date, now: Date): string {
  const hm = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
  const age = now.getTime() - date.getTime();
  if (age >= 0 && age < WEEK_MS) return `${WEEKDAYS[date.getUTCDay()] as string} ${hm}`;
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${hm}`;
}

/** "212 days", "5 hours", "1 minute", "40 seconds": the largest whole unit. */
export function duration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(Math.abs(ms) / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return 'less than a second';
}

/** A <time> element, or a dash for no time. */
export function timeTag(date: Date | null, now: Date): Html {
  if (date === null) return html`<span class="none">—</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}" title="${iso}">${shortTime(date, now)}</time>`;
}

/** "in 3 hours", "5 minutes ago". */
export function relative(date: Date, now: Date): string {
  const delta = date.getTime() - now.getTime();
  return delta >= 0 ? `in ${duration(delta)}` : `${duration(delta)} ago`;
}
