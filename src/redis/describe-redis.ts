import type { RedisTopology } from '../runtime/settings.js';

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
