import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls, { type ConnectionOptions, type SecureVersion } from 'node:tls';
import { Agent, buildConnector, Dispatcher, ProxyAgent } from 'undici';
import type { Connection, SecurityProtocol } from '../config/types.js';
import { HttpError } from '../errors/http-error.js';
import { RestqError } from '../errors/restq-error.js';
import type { Logger } from '../logger.js';
import { errorCode } from './http-client.js';
import { basicProxyAuthorization, openTunnel, proxyAuthScheme, proxyLabel, type ProxySettings } from './proxy-tunnel.js';

export interface DispatcherOptions {
  /** Gets the one-time warnings (legacy TLS, certificate checks off). */
  logger?: Logger | undefined;
  /** Route through the connection's proxy, if it has one (false for `refresh.proxy: false`). @default true */
  proxy?: boolean;
}

const TLS_VERSIONS: Record<SecurityProtocol, SecureVersion | undefined> = {
  Default: undefined,
  SSL3: undefined,
  'TLS1.0': 'TLSv1',
  'TLS1.1': 'TLSv1.1',
  'TLS1.2': 'TLSv1.2',
  'TLS1.3': 'TLSv1.3',
};

/** Handshake failures that a version the server does not speak produces (OpenSSL codes). */
const VERSION_MISMATCH = /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION_NUMBER|NO_PROTOCOLS_AVAILABLE|NO_CIPHERS|HANDSHAKE_FAILURE|VERSION_TOO_LOW|VERSION_TOO_HIGH/;
const UNTRUSTED = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/;

/** Warnings said once per process and connection, not once per socket. */
const warned = new Set<string>();

function warnOnce(logger: Logger | undefined, key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  if (logger) logger.warn(message);
  else process.emitWarning(message);
}

function readPem(file: string, key: string, connection: Connection): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new RestqError('E_CONFIG', `connection "${connection.name}": cannot read tls.${key} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error, permanent: true });
  }
}

/**
 * The TLS options of a connection: a pinned version (min = max), its CA added to Node's roots,
 * an optional client certificate. TLS1.0/1.1 need OpenSSL security level 0 (their signature
 * algorithms are below level 1): set in this connection's options only, never process-wide.
 */
export function tlsOptionsFor(connection: Connection, logger?: Logger): ConnectionOptions {
  const options: ConnectionOptions = {};
  const version = TLS_VERSIONS[connection.securityProtocol];
  if (version) {
    options.minVersion = version;
    options.maxVersion = version;
  }
  if (connection.securityProtocol === 'TLS1.0' || connection.securityProtocol === 'TLS1.1') {
    options.ciphers = 'DEFAULT@SECLEVEL=0';
    warnOnce(logger, `${connection.name}:legacy-tls`, `connection "${connection.name}" pins ${connection.securityProtocol}, a deprecated protocol: the OpenSSL security level is lowered to 0 for this connection only`);
  }
  const settings = connection.tls;
  if (settings?.ca) options.ca = [...tls.rootCertificates, readPem(settings.ca, 'ca', connection).toString('utf8')];
  if (settings?.cert) options.cert = readPem(settings.cert, 'cert', connection);
  if (settings?.key) options.key = readPem(settings.key, 'key', connection);
  if (settings && settings.rejectUnauthorized === false) {
    options.rejectUnauthorized = false;
    warnOnce(
      logger,
      `${connection.name}:insecure`,
      `!!! connection "${connection.name}" has tls.rejectUnauthorized: false: server certificates are NOT checked, anyone on the path can read and change its traffic, tokens included. Use tls.ca instead. !!!`,
    );
  }
  return options;
}

/** Rewrites a handshake failure so it says what to change; the original `code` is kept. */
function describeTlsFailure(error: unknown, connection: Connection, host: string, port: number | string): unknown {
  const code = errorCode(error);
  if (!code || error instanceof HttpError) return error;
  let message: string | undefined;
  if (connection.securityProtocol !== 'Default' && VERSION_MISMATCH.test(code)) {
    message = `TLS handshake with ${host}:${port} failed: connection "${connection.name}" pins ${connection.securityProtocol} (securityProtocol) and the server does not accept ${connection.securityProtocol}; set the version the server speaks, or Default`;
  } else if (UNTRUSTED.test(code)) {
    message = `the certificate of ${host}:${port} is not trusted: set tls.ca of connection "${connection.name}" to the PEM file of the CA that issued it`;
  } else if (/CERTIFICATE_REQUIRED/.test(code)) {
    message = `${host}:${port} requires a client certificate: set tls.cert and tls.key of connection "${connection.name}"`;
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    message = `the certificate of ${host}:${port} is not valid for that name: use the host name the certificate was issued for in the URL`;
  } else if (code === 'CERT_HAS_EXPIRED') {
    message = `the certificate of ${host}:${port} has expired`;
  }
  return message ? Object.assign(new Error(message, { cause: error }), { code }) : error;
}

type Connector = buildConnector.connector;

/** TLS to an https proxy trusts the same CAs, but the API's pinned version and client certificate are not the proxy's. */
function proxyTlsOptions(tlsOptions: ConnectionOptions): ConnectionOptions {
  return { ...(tlsOptions.ca ? { ca: tlsOptions.ca } : {}), ...(tlsOptions.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}) };
}

function directConnector(connection: Connection, tlsOptions: ConnectionOptions): Connector {
  const base = buildConnector({ ...tlsOptions, timeout: connection.timeout } as buildConnector.BuildOptions);
  return (options, callback) =>
    base(options, (error, socket) => {
      if (error) callback(describeTlsFailure(error, connection, options.hostname, options.port) as Error, null);
      else callback(null, socket!);
    });
}

/** Every origin through an HTTP CONNECT tunnel (Basic, NTLM or no proxy auth), then TLS for https. */
function tunnelConnector(connection: Connection, proxy: ProxySettings, tlsOptions: ConnectionOptions): Connector {
  return (options, callback) => {
    const https = options.protocol === 'https:';
    const port = Number(options.port) || (https ? 443 : 80);
    const proxyTls = proxy.protocol === 'https' ? proxyTlsOptions(tlsOptions) : undefined;
    openTunnel({ proxy, host: options.hostname, port, timeoutMs: connection.timeout, proxyTls }).then(
      (socket) => {
        if (!https) return callback(null, socket);
        const servername = options.servername ?? (net.isIP(options.hostname) ? undefined : options.hostname);
        const secure = tls.connect({ ...tlsOptions, socket, ...(servername ? { servername } : {}) });
        const onError = (error: Error) => {
          clearTimeout(timer);
          callback(describeTlsFailure(error, connection, options.hostname, port) as Error, null);
        };
        // The tunnel is up; the handshake through it gets the connection's connect timeout too.
        const timer = setTimeout(() => secure.destroy(Object.assign(new Error(`TLS handshake with ${options.hostname}:${port} through the proxy timed out`), { code: 'UND_ERR_CONNECT_TIMEOUT' })), connection.timeout);
        secure.once('error', onError);
        secure.once('secureConnect', () => {
          clearTimeout(timer);
          secure.off('error', onError);
          callback(null, secure);
        });
      },
      (error: unknown) => callback(error as Error, null),
    );
  };
}

/** undici reports a 407 from a forward proxy as an invalid-argument error: make it say which proxy and what to check. */
function forwardProxyError(error: unknown, proxy: ProxySettings, origin: string): unknown {
  const code = errorCode(error);
  if (code !== 'UND_ERR_INVALID_ARG' || !/\(407\)/.test((error as Error).message)) return error;
  const label = proxyLabel(proxy);
  const who = proxy.username === undefined ? 'it requires authentication: set proxy.username and proxy.password' : `it rejected Basic authentication as user "${proxy.username}": check proxy.username and proxy.password`;
  return new HttpError('E_PROXY', `proxy ${label} answered 407 Proxy Authentication Required forwarding to ${origin}: ${who}`, { method: 'GET', url: label, status: 407 }, { permanent: true });
}

/**
 * https (and anything with NTLM) goes through CONNECT tunnels on `tunnel`; plain http goes to
 * the proxy as a forward proxy (absolute URI in the request line) on `forward`.
 */
class ProxyRouter extends Dispatcher {
  readonly #tunnel: Dispatcher;
  readonly #forward: Dispatcher;
  readonly #proxy: ProxySettings;

  constructor(tunnel: Dispatcher, forward: Dispatcher, proxy: ProxySettings) {
    super();
    this.#tunnel = tunnel;
    this.#forward = forward;
    this.#proxy = proxy;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin ?? '');
    if (!origin.startsWith('http:')) return this.#tunnel.dispatch(options, handler);
    const proxy = this.#proxy;
    const wrapped = new Proxy(handler, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if ((key === 'onError' || key === 'onResponseError') && typeof value === 'function') {
          return (...args: unknown[]) => {
            const index = key === 'onError' ? 0 : 1;
            args[index] = forwardProxyError(args[index], proxy, origin);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value;
      },
    });
    return this.#forward.dispatch(options, wrapped);
  }

  override async close(): Promise<void> {
    await Promise.all([this.#tunnel.close(), this.#forward.close()]);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const error = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([this.#tunnel.destroy(error), this.#forward.destroy(error)]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }
}

/**
 * One undici dispatcher per connection, so TLS pinning, CA and proxy settings apply to that
 * connection only and its keep-alive sockets are reused across pages and runs.
 */
export function createDispatcher(connection: Connection, options: DispatcherOptions = {}): Dispatcher {
  const tlsOptions = tlsOptionsFor(connection, options.logger);
  const proxy = options.proxy === false ? undefined : connection.proxy;
  const timeouts = { headersTimeout: connection.timeout, bodyTimeout: connection.timeout };
  if (!proxy) return new Agent({ ...timeouts, connect: directConnector(connection, tlsOptions) });
  const tunnel = new Agent({ ...timeouts, connect: tunnelConnector(connection, proxy, tlsOptions) });
  // NTLM authenticates a connection, not a request: it needs the tunnel even for plain http.
  if (proxyAuthScheme(proxy) === 'ntlm') return tunnel;
  const forward = new ProxyAgent({
    ...timeouts,
    uri: proxyLabel(proxy),
    proxyTunnel: false,
    ...(proxy.username !== undefined ? { token: basicProxyAuthorization(proxy) } : {}),
    ...(proxy.protocol === 'https' ? { proxyTls: proxyTlsOptions(tlsOptions) } : {}),
    connect: { timeout: connection.timeout },
  });
  return new ProxyRouter(tunnel, forward, proxy);
}

/** What a TLS handshake with the API negotiated, for `restq check`. */
export interface TlsProbe {
  /** e.g. "TLSv1.3". */
  protocol: string;
  /** Certificate subject CN (or the whole subject), issuer CN, and expiry. */
  subject: string;
  issuer: string;
  validTo: Date | undefined;
}

/**
 * One TLS handshake with `url`'s host through the connector the connection's dispatcher uses
 * (same pinned version, CA, client certificate and proxy tunnel), then closed: `restq check`
 * reports what a run would negotiate. Errors read as in a run (describeTlsFailure).
 */
export function probeTls(connection: Connection, url: URL, logger?: Logger): Promise<TlsProbe> {
  const tlsOptions = tlsOptionsFor(connection, logger);
  const proxy = connection.proxy;
  const connect = proxy ? tunnelConnector(connection, proxy, tlsOptions) : directConnector(connection, tlsOptions);
  const port = url.port || '443';
  return new Promise((resolve, reject) => {
    connect({ hostname: url.hostname, host: url.host, protocol: 'https:', port, servername: net.isIP(url.hostname) ? undefined : url.hostname } as Parameters<Connector>[0], (error, socket) => {
      if (error || !socket) return reject(error ?? new Error('no socket'));
      const secure = socket as tls.TLSSocket;
      const cert = secure.getPeerCertificate();
      const name = (entity: tls.Certificate | undefined) => (entity ? (entity.CN ? `CN=${entity.CN}` : Object.entries(entity).map(([k, v]) => `${k}=${String(v)}`).join(', ')) : '');
      resolve({
        protocol: String(secure.getProtocol()),
        subject: name(cert.subject),
        issuer: name(cert.issuer),
        validTo: cert.valid_to ? new Date(cert.valid_to) : undefined,
      });
      secure.destroy();
    });
  });
}
