import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './own-redis.js';

const run = promisify(execFile);

/**
 * Real Redis topologies for tests, from the redis-server on PATH: every process on a free port
 * in a temp dir, stopped by its PID. No mocks: restq must survive what production Redis does.
 */
interface Proc {
  port: number;
  child: ChildProcess;
}

function spawnRedis(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function command(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

function stopProc(proc: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  return exited;
}

export interface SentinelSet {
  /** "host:port,host:port,host:port" for REDIS_SENTINELS. */
  sentinels: string;
  master: string;
  /** The port the current master listens on, as the sentinels see it. */
  masterPort(): Promise<number>;
  /** SIGKILL the current master; resolves with its port once the process is gone. */
  killMaster(): Promise<number>;
  /** Resolves when the sentinels name a master other than `oldPort` and it accepts writes. */
  waitForFailover(oldPort: number): Promise<number>;
  cleanup(): Promise<void>;
}

/** 1 master + 1 replica + 3 sentinels (quorum 2), with short failover timeouts. */
export async function startSentinelSet(): Promise<SentinelSet> {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-sentinel-'));
  const master = 'restqmaster';
  const procs: Proc[] = [];
  const masterPort = await freePort();
  const replicaPort = await freePort();
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const startData = (port: number, extra: string[]) => {
    const data = path.join(dir, `data-${port}`);
    mkdirSync(data);
    procs.push({ port, child: spawnRedis(['--port', String(port), '--dir', data, ...common, ...extra]) });
  };
  startData(masterPort, []);
  startData(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
  await until('master', async () => ((await command(masterPort, 'PING')) === 'PONG' ? true : undefined));
  await until('replica in sync', async () => (/master_link_status:up/.test(String(await command(replicaPort, 'INFO', 'replication'))) ? true : undefined));
  const sentinelPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    sentinelPorts.push(port);
    const file = path.join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${master} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${master} 1000`,
        `sentinel failover-timeout ${master} 5000`,
        `sentinel parallel-syncs ${master} 1`,
        '',
      ].join('\n'),
    );
    procs.push({ port, child: spawnRedis([file, '--sentinel']) });
  }
  const current = async (): Promise<number> => {
    for (const port of sentinelPorts) {
      try {
        const addr = (await command(port, 'SENTINEL', 'get-master-addr-by-name', master)) as string[] | null;
        if (addr) return Number(addr[1]);
      } catch {
        // try the next sentinel
      }
    }
    throw new Error('no sentinel answered');
  };
  // Every sentinel must know the others and the replica before a failover can be voted.
  await until('sentinels to see each other and the replica', async () => {
    for (const port of sentinelPorts) {
      const info = (await command(port, 'SENTINEL', 'master', master)) as string[];
      const field = (name: string) => Number(info[info.indexOf(name) + 1]);
      if (field('num-other-sentinels') < 2 || field('num-slaves') < 1) return undefined;
    }
    return true;
  });
  return {
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
    master,
    masterPort: current,
    async killMaster() {
      const port = await current();
      const proc = procs.find((p) => p.port === port)!;
      await stopProc(proc, 'SIGKILL');
      return port;
    },
    async waitForFailover(oldPort: number) {
      return until(
        'failover',
        async () => {
          const port = await current();
          if (port === oldPort) return undefined;
          return /role:master/.test(String(await command(port, 'INFO', 'replication'))) ? port : undefined;
        },
        30_000,
      );
    },
    async cleanup() {
      await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClusterSet {
  /** "host:port,…" for REDIS_CLUSTER. */
  nodes: string;
  ports: number[];
  cleanup(): Promise<void>;
}

/** 3 masters, no replicas: `cluster-enabled yes` + `redis-cli --cluster create … --cluster-yes`. */
export async function startCluster(): Promise<ClusterSet> {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-cluster-'));
  const procs: Proc[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    ports.push(port);
    const data = path.join(dir, String(port));
    mkdirSync(data);
    procs.push({
      port,
      child: spawnRedis([
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', data,
        '--cluster-enabled', 'yes',
        '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', '2000',
        '--save', '',
        '--appendonly', 'no',
      ]),
    });
  }
  for (const port of ports) await until(`node ${port}`, async () => ((await command(port, 'PING')) === 'PONG' ? true : undefined));
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
  await until('cluster_state:ok on every node', async () => {
    for (const port of ports) if (!/cluster_state:ok/.test(String(await command(port, 'CLUSTER', 'INFO')))) return undefined;
    return true;
  });
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    async cleanup() {
      await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SecureRedis {
  /** The TLS port with `tls`, else the plain port. */
  port: number;
  /** The temp dir the server runs in (its data, its certificate files). */
  dir: string;
  cleanup(): Promise<void>;
}

export interface SecureRedisOptions {
  /** An ACL user with every permission; the `default` user is turned off. */
  acl?: { user: string; password: string };
  /** PEM texts: TLS only (`--port 0`), clients not asked for certificates. */
  tls?: { cert: string; key: string; ca: string };
}

/**
 * One redis-server with ACL users and/or TLS, as managed Redis offers them. Ready when it logs
 * "Ready to accept connections" (a PING would need the very credentials and CA under test).
 */
export async function startSecureRedis(options: SecureRedisOptions): Promise<SecureRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'restq-secure-redis-'));
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', ''];
  if (options.acl) args.push('--user', 'default', 'off', '--user', options.acl.user, 'on', `>${options.acl.password}`, '~*', '&*', '+@all');
  if (options.tls) {
    const file = (name: string, text: string) => {
      const target = path.join(dir, name);
      writeFileSync(target, text, { mode: 0o600 });
      return target;
    };
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', file('server.pem', options.tls.cert), '--tls-key-file', file('server.key', options.tls.key));
    args.push('--tls-ca-cert-file', file('ca.pem', options.tls.ca), '--tls-auth-clients', 'no');
  } else {
    args.push('--port', String(port));
  }
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not get ready within 20 s:\n${log}`)), 20_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${log}`));
    });
    child.once('error', reject);
  });
  const proc: Proc = { port, child };
  const cleanup = async () => {
    await stopProc(proc, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { port, dir, cleanup };
}
