/**
 * The prefix of restq's keys for a Redis topology. On Redis Cluster every key a script or a
 * BullMQ command touches must hash to one slot, so the prefix becomes a hash tag: `restq` →
 * `{restq}` (a prefix that already holds a tag is kept as it is).
 */
export function keyPrefix(prefix: string, kind: 'single' | 'sentinel' | 'cluster'): string {
  if (kind !== 'cluster') return prefix;
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}
