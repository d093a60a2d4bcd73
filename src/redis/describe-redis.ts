import type { RedisTopology } from './topology.js';

/** REDIS_URL without its password, for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'REDIS_URL (unparsable)';
  }
}

/** Where Redis is, for messages and logs: never a password. */
export function describeRedis(topology: RedisTopology): string {
  const list = (nodes: readonly { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  switch (topology.kind) {
    case 'single':
      return safeRedisUrl(topology.url);
    case 'sentinel':
      return `sentinel ${topology.master} via ${list(topology.sentinels)}`;
    case 'cluster':
      return `cluster ${list(topology.nodes)}`;
  }
}

/** The environment variable that chose the topology, for messages. */
export function redisVariable(topology: RedisTopology): string {
  return topology.kind === 'single' ? 'REDIS_URL' : topology.kind === 'sentinel' ? 'REDIS_SENTINELS' : 'REDIS_CLUSTER';
}

/**
 * A Redis error for logs: its type, message and code only. ioredis attaches the failed command
 * to a ReplyError (`command.args`), and for a refused login that is `AUTH user password`.
 */
export function redisErrorForLog(error: unknown): { type: string; message: string; code?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** The password of the Redis topology (REDIS_URL's), to redact from anything printed; none without one. */
export function redisPassword(topology: RedisTopology | null): string | undefined {
  if (!topology) return undefined;
  if (topology.kind !== 'single') return topology.password;
  try {
    const password = new URL(topology.url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
