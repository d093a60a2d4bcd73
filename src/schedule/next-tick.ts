import { CronExpressionParser } from 'cron-parser';

/**
 * The first tick of `pattern` in `timezone` strictly after `after` (epoch ms). cron-parser
 * walks wall-clock time in the zone, so across DST a time that occurs twice (fall back) gives
 * one tick, and one that does not exist (spring forward) moves to the first valid instant after
 * the gap instead of being lost. BullMQ's job schedulers use the same parser, so both modes
 * agree on every tick.
 */
export function nextTick(pattern: string, timezone: string, after: number): number {
  return CronExpressionParser.parse(pattern, { tz: timezone, currentDate: new Date(after) }).next().getTime();
}

/**
 * Whether the tick `tick` is found late by more than one interval at `now` (SPEC 8 misfire):
 * the next tick after it has already passed too.
 */
export function isMisfire(pattern: string, timezone: string, tick: number, now: number): boolean {
  return now - tick > nextTick(pattern, timezone, tick) - tick;
}
