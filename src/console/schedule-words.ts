import { CronExpressionParser } from 'cron-parser';

const two = (n: string) => n.padStart(2, '0');

/**
 * A cron pattern in words for the common shapes ("every 15 minutes", "daily at 06:30"); other
 * patterns come back as null and the console shows the cron text alone.
 */
export function scheduleInWords(pattern: string): string | null {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length === 6) fields.shift(); // seconds
  if (fields.length !== 5) return null;
  const [minute, hour, day, month, weekday] = fields as [string, string, string, string, string];
  const everyDay = day === '*' && month === '*' && weekday === '*';
  if (!everyDay && !(day === '*' && month === '*' && weekday === '1-5')) return null;
  const suffix = weekday === '1-5' ? ' on weekdays' : '';
  let m = /^\*\/(\d+)$/.exec(minute);
  if (m && hour === '*') return `every ${m[1]} minutes${suffix}`;
  if (minute === '*' && hour === '*') return `every minute${suffix}`;
  if (/^\d+$/.test(minute) && hour === '*') return `hourly at :${two(minute)}${suffix}`;
  m = /^\*\/(\d+)$/.exec(hour);
  if (m && /^\d+$/.test(minute)) return `every ${m[1]} hours at :${two(minute)}${suffix}`;
  if (/^\d+$/.test(minute) && /^\d+(,\d+)*$/.test(hour)) return `daily at ${hour.split(',').map((h) => `${two(h)}:${two(minute)}`).join(', ')}${suffix}`;
  return null;
}

/** The next time the pattern fires (ISO), or null for an on-demand job. */
export function nextRunAt(pattern: string | undefined, timezone: string, now = new Date()): string | null {
  if (!pattern) return null;
  return CronExpressionParser.parse(pattern, { tz: timezone, currentDate: now }).next().toDate().toISOString();
}
