/** Where Redis is: parsed from the environment by runtime/settings.ts, connected by redis-connection.ts. */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Credentials and options of the Redis URL that apply to every node of a Sentinel or Cluster set. */
export interface RedisCredentials {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** `rediss://`: connect with TLS. */
  readonly tls: boolean;
  /** Database number from the URL path (not used by Cluster). */
  readonly db?: number | undefined;
}

/**
 * Where Redis is. `single`: REDIS_URL. `sentinel`: REDIS_SENTINELS with REDIS_SENTINEL_MASTER
 * (credentials from REDIS_URL when it is set too). `cluster`: REDIS_CLUSTER (credentials likewise).
 */
export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | ({ readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly master: string } & RedisCredentials)
  | ({ readonly kind: 'cluster'; readonly nodes: readonly HostPort[] } & RedisCredentials);
