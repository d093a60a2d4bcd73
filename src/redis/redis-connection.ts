import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'bullmq';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../log/logger.js';
import type { RedisTopology } from './topology.js';
import { describeRedis, redisErrorForLog, redisVariable as variable } from './describe-redis.js';

/**
 * What a connection is for:
 * - `command`: fails a command fast (2 tries) when Redis is down instead of hanging (run, token,
 *   producers, rate budgets of `restq run`).
 * - `blocking`: waits through a Redis restart (`maxRetriesPerRequest: null`, which BullMQ requires
 *   for workers): long-running workers, their token store, run records, heartbeats.
 * - `probe`: one try, 1 s to connect: health checks that must answer quickly either way.
 */
export type RedisRole = 'command' | 'blocking' | 'probe';

export interface RedisClientOptions {
  /** @default "command" */
  role?: RedisRole;
  /** Shown in `CLIENT LIST`, to tell restq's connections apart. @default "restq" */
  name?: string;
  /** Connection errors are logged here (once per distinct message) instead of on the console. */
  logger?: Logger | undefined;
}

/** @default 5000 */
const CONNECT_TIMEOUT_MS = 5_000;

/** ioredis options of a role; the URL (single) or node list comes separately. */
function roleOptions(role: RedisRole, name: string): RedisOptions {
  switch (role) {
    case 'blocking':
      // Reconnect with a capped backoff; commands wait for Redis to come back.
      return { connectionName: name, maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: (times) => Math.min(200 * times, 2_000) };
    case 'probe':
      return { connectionName: name, maxRetriesPerRequest: 1, connectTimeout: 1_000 };
    case 'command':
      return { connectionName: name, maxRetriesPerRequest: 2, connectTimeout: CONNECT_TIMEOUT_MS, retryStrategy: (times) => Math.min(200 * times, 2_000) };
  }
}

/**
 * A client of any topology. ioredis' Cluster speaks the same commands (routed by key slot), so
 * restq's stores take either; every multi-key script hashes its keys to one slot (the `{restq}`
 * hash tag of the prefix, runtime/settings.ts).
 */
export type RedisClient = Redis | Cluster;

/** Credentials, TLS and database of REDIS_URL, for every node of a Sentinel or Cluster set. */
function nodeOptions(topology: Exclude<RedisTopology, { kind: 'single' }>): RedisOptions {
  return {
    ...(topology.username !== undefined ? { username: topology.username } : {}),
    ...(topology.password !== undefined ? { password: topology.password } : {}),
    ...(topology.tls ? { tls: {} } : {}),
  };
}

/** ioredis options of a Sentinel set: the sentinels find the master, failovers are followed. */
function sentinelOptions(topology: Extract<RedisTopology, { kind: 'sentinel' }>, role: RedisOptions): RedisOptions {
  return {
    ...role,
    ...nodeOptions(topology),
    ...(topology.db !== undefined ? { db: topology.db } : {}),
    sentinels: topology.sentinels.map((n) => ({ host: n.host, port: n.port })),
    name: topology.master,
    // A failover makes the old master a replica: reconnect to the new one on READONLY.
    reconnectOnError: (error: Error) => (/READONLY/.test(error.message) ? 2 : false),
    sentinelRetryStrategy: (times: number) => Math.min(250 * times, 2_000),
  };
}

/** ioredis Cluster options: the role's retry behaviour per node, slots refreshed on MOVED. */
function clusterOptions(topology: Extract<RedisTopology, { kind: 'cluster' }>, role: RedisOptions): ClusterOptions {
  const { retryStrategy, maxRetriesPerRequest, connectionName, connectTimeout } = role;
  return {
    redisOptions: { ...nodeOptions(topology), ...(connectionName ? { connectionName } : {}), ...(connectTimeout ? { connectTimeout } : {}), maxRetriesPerRequest: maxRetriesPerRequest ?? null },
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null } : {}),
    slotsRefreshTimeout: 2_000,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
  };
}

function openClient(topology: RedisTopology, role: RedisOptions): RedisClient {
  switch (topology.kind) {
    case 'single':
      return new Redis(topology.url, role);
    case 'sentinel':
      return new Redis(sentinelOptions(topology, role));
    case 'cluster':
      return new Cluster(
        topology.nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOptions(topology, role),
      );
  }
}

/**
 * One ioredis client: the single place where restq opens a Redis connection (BullMQ's own
 * connections get their options from {@link bullConnection}).
 */
export function createRedisClient(topology: RedisTopology, options: RedisClientOptions = {}): RedisClient {
  const client = openClient(topology, roleOptions(options.role ?? 'command', options.name ?? 'restq'));
  // Without a listener ioredis prints every reconnect failure; commands still fail on their own.
  let last = '';
  client.on('error', (error: Error) => {
    if (error.message === last) return;
    last = error.message;
    options.logger?.warn({ err: redisErrorForLog(error) }, `Redis connection error: ${error.message}`);
  });
  return client;
}

/**
 * Connection options for the connections BullMQ opens itself (Worker, QueueEvents): commands wait
 * through a Redis restart (`maxRetriesPerRequest: null`, as BullMQ requires), reconnecting with a
 * capped backoff.
 */
export function bullConnection(topology: RedisTopology, name = 'restq-worker'): ConnectionOptions {
  const role: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: null,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times: number) => Math.min(250 * times, 5_000),
  };
  switch (topology.kind) {
    case 'single':
      return { url: topology.url, ...role } as ConnectionOptions;
    case 'sentinel':
      return sentinelOptions(topology, role) as ConnectionOptions;
    case 'cluster':
      // BullMQ takes a Cluster only as an instance; the caller quits it with releaseBullConnection.
      return new Cluster(
        topology.nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOptions(topology, role),
      );
  }
}

/** Quits what bullConnection opened itself (a Cluster instance); BullMQ closes the options kinds. */
export async function releaseBullConnection(connection: ConnectionOptions): Promise<void> {
  if (connection instanceof Cluster) await connection.quit().catch(() => connection.disconnect());
}

/**
 * What a wrong topology looks like, in words: cluster variables pointing at a plain server, a
 * plain URL pointing at a cluster node, sentinels that do not know the master.
 */
export function explainTopologyError(topology: RedisTopology, error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (topology.kind === 'cluster' && /cluster support disabled|refresh slots cache|ClusterAllFailed/i.test(`${message} ${(error as Error)?.name ?? ''}`)) {
    return `REDIS_CLUSTER points at ${describeRedis(topology)}, which is not a Redis Cluster (cluster support disabled): for one server use REDIS_URL=redis://host:port instead`;
  }
  if (topology.kind === 'single' && /MOVED|CROSSSLOT|CLUSTERDOWN/.test(message)) {
    return `REDIS_URL points at a Redis Cluster node: set REDIS_CLUSTER=host:port,host:port (the cluster's nodes) instead of REDIS_URL`;
  }
  if (topology.kind === 'sentinel' && /sentinel|master/i.test(message)) {
    return `the sentinels ${topology.sentinels.map((n) => `${n.host}:${n.port}`).join(',')} gave no master named "${topology.master}" (${message}): check REDIS_SENTINELS and REDIS_SENTINEL_MASTER (the name in "sentinel monitor NAME ...")`;
  }
  return undefined;
}

/** Node's codes for a server certificate that does not verify (tls.connect). */
const UNTRUSTED_CERT = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A server that answered but refused restq, in words: wrong or missing ACL credentials, a user
 * without the permissions restq needs, a TLS certificate Node does not trust. Never repeats the
 * password (the server's messages do not hold it; describeRedis masks it).
 */
export function explainRefusal(topology: RedisTopology, error: unknown): string | undefined {
  const message = error instanceof Error ? error.message.replace(/\.+$/, '') : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const where = `Redis at ${describeRedis(topology)}`;
  if (/^WRONGPASS/.test(message)) {
    return `${where} refused the login (${message}): check the user and password in REDIS_URL (redis://user:password@host:port, special characters URL-encoded) against the server's ACL users`;
  }
  if (/^NOAUTH/.test(message)) {
    return `${where} needs a login (${message}): put the ACL user and password in REDIS_URL, e.g. redis://user:password@host:port`;
  }
  if (/^NOPERM/.test(message)) {
    return `${where} accepted the login but the user may not run what restq needs (${message}): grant the ACL user its keys, channels and commands, e.g. "~* &* +@all"`;
  }
  if ((typeof code === 'string' && UNTRUSTED_CERT.has(code)) || /self[- ]signed certificate|unable to (verify|get (local )?issuer)|certificate has expired|Hostname\/IP does not match/i.test(message)) {
    return `the TLS certificate of ${where} is not trusted (${message}): when the server's certificate comes from a private CA, give Node that CA as a PEM file with NODE_EXTRA_CA_CERTS=/path/to/ca.pem; connect by a host name or IP the certificate lists`;
  }
  return undefined;
}

function unreachable(topology: RedisTopology, error: unknown): RestqError {
  const refused = explainRefusal(topology, error);
  if (refused) return new RestqError('E_REDIS', refused, { cause: error, permanent: true });
  const wrong = explainTopologyError(topology, error);
  if (wrong) return new RestqError('E_REDIS', wrong, { cause: error, permanent: true });
  const reason = error instanceof Error ? error.message : String(error);
  const name = variable(topology);
  return new RestqError(
    'E_QUEUE',
    `cannot reach Redis at ${describeRedis(topology)} (${name}): ${reason}. Start Redis or fix ${name}; without ${name}, \`restq start\` runs standalone in one process`,
    { cause: error, permanent: true },
  );
}

/**
 * Whether a `redis://` URL that got no answer points at a port that completes a TLS handshake
 * (a server with only `tls-port`): such a server closes plain connections without a word, so
 * the failure alone reads like "Redis is down". Only asked after a failure; 1 s at most.
 */
function plainUrlOnTlsPort(topology: RedisTopology): Promise<boolean> {
  if (topology.kind !== 'single' || !topology.url.startsWith('redis://')) return Promise.resolve(false);
  const url = new URL(topology.url);
  return new Promise((resolve) => {
    // Nothing is sent over it: the handshake alone answers, whatever the certificate.
    const socket = tlsConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379), rejectUnauthorized: false, timeout: 1_000 });
    const done = (speaksTls: boolean) => {
      socket.destroy();
      resolve(speaksTls);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * A `command` client that has answered PING: for producers (enqueue, schedule, status) and
 * start-up checks. Fails within seconds with a clear message when Redis is down, instead of
 * waiting for it to come back.
 */
export async function connectRedis(topology: RedisTopology, options: { name?: string; timeoutMs?: number } = {}): Promise<RedisClient> {
  const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
  const redis = createRedisClient(topology, { name: options.name ?? 'restq-producer' });
  let lastError: unknown;
  redis.on('error', (error: unknown) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      // On a cluster a keyed command proves the slots are served, not just that one node answers.
      topology.kind === 'cluster' ? redis.exists('restq:topology-check') : redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    if (await plainUrlOnTlsPort(topology)) {
      throw new RestqError(
        'E_REDIS',
        `Redis at ${describeRedis(topology)} speaks TLS on this port and drops plain connections: write the URL with rediss:// (${variable(topology)}=rediss://…)`,
        { cause: error, permanent: true },
      );
    }
    throw unreachable(topology, lastError ?? error);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

/** Checks that Redis answers (a clear error otherwise) and closes the check's connection. */
export async function checkRedisReachable(topology: RedisTopology): Promise<void> {
  (await connectRedis(topology, { name: 'restq-check' })).disconnect();
}
