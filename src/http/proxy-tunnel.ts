import net, { type Socket } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import ntlm from '@ewsjs/ntlm-client';
import { HttpError } from '../errors/http-error.js';

/** The `proxy:` section of a connection. */
export interface ProxySettings {
  host: string;
  port: number;
  protocol: 'http' | 'https';
  domain?: string | undefined;
  workstation?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

export interface TunnelOptions {
  proxy: ProxySettings;
  /** host:port the tunnel leads to. */
  host: string;
  port: number;
  /** Whole tunnel set-up (TCP, auth round trips). */
  timeoutMs: number;
  /** TLS options for a proxy reached over https. */
  proxyTls?: ConnectionOptions | undefined;
}

interface ProxyResponse {
  status: number;
  statusText: string;
  headers: Map<string, string[]>;
}

const MAX_HEAD_BYTES = 64 * 1024;

/** The proxy as shown in messages: scheme, host and port, never the credentials. */
export function proxyLabel(proxy: ProxySettings): string {
  return `${proxy.protocol}://${proxy.host}:${proxy.port}`;
}

export function proxyAuthScheme(proxy: ProxySettings): 'ntlm' | 'basic' | 'none' {
  if (proxy.domain !== undefined && proxy.username !== undefined) return 'ntlm';
  return proxy.username !== undefined ? 'basic' : 'none';
}

export function basicProxyAuthorization(proxy: ProxySettings): string {
  return `Basic ${Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64')}`;
}

/**
 * Opens an HTTP CONNECT tunnel to host:port through the proxy, authenticating with Basic or
 * NTLM (Type 1 → 407 + Type 2 challenge → Type 3, all on the same socket, as NTLM
 * authenticates the connection rather than the request). Resolves to the raw tunnel socket.
 */
export async function openTunnel(options: TunnelOptions): Promise<Socket> {
  const { proxy } = options;
  const socket = await connectToProxy(options);
  const timer = setTimeout(
    () => socket.destroy(new HttpError('E_TIMEOUT', `proxy ${proxyLabel(proxy)} did not open a tunnel to ${options.host}:${options.port} within ${options.timeoutMs} ms`, { method: 'CONNECT', url: proxyLabel(proxy) })),
    options.timeoutMs,
  );
  try {
    const scheme = proxyAuthScheme(proxy);
    let response: ProxyResponse;
    if (scheme === 'ntlm') {
      const workstation = proxy.workstation ?? '';
      response = await sendConnect(socket, options, ntlm.createType1Message(workstation, proxy.domain));
      if (response.status === 407) {
        const challenge = (response.headers.get('proxy-authenticate') ?? []).find((v) => /^NTLM\s+\S+/i.test(v));
        if (!challenge) throw proxyError(options, response, `offered no NTLM challenge (schemes: ${authSchemes(response)}); check that the proxy does NTLM or drop proxy.domain to use Basic`);
        if (/close/i.test(response.headers.get('proxy-connection')?.[0] ?? response.headers.get('connection')?.[0] ?? '')) {
          throw proxyError(options, response, 'closed the connection after its NTLM challenge, so the handshake cannot complete');
        }
        const type2 = ntlm.decodeType2Message(challenge);
        if (type2.version === 2 && !type2.targetInfo) throw proxyError(options, response, 'sent an NTLMv2 challenge without target information');
        const type3 = ntlm.createType3Message(type2, proxy.username ?? '', proxy.password ?? '', workstation, proxy.domain);
        response = await sendConnect(socket, options, type3);
      }
    } else {
      response = await sendConnect(socket, options, scheme === 'basic' ? basicProxyAuthorization(proxy) : undefined);
    }
    if (response.status === 407) {
      const how = scheme === 'none' ? 'it requires authentication: set proxy.username and proxy.password (and proxy.domain for NTLM)' : `it rejected ${scheme === 'ntlm' ? 'NTLM' : 'Basic'} authentication as user "${proxy.username ?? ''}"${scheme === 'ntlm' ? ` in domain "${proxy.domain ?? ''}"` : ''}: check proxy.username, proxy.password${scheme === 'ntlm' ? ' and proxy.domain' : ''} (proxy offers: ${authSchemes(response)})`;
      throw proxyError(options, response, how, true);
    }
    if (response.status < 200 || response.status >= 300) {
      throw proxyError(options, response, 'refused the tunnel', response.status < 500);
    }
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function connectToProxy(options: TunnelOptions): Promise<Socket> {
  const { proxy } = options;
  return new Promise((resolve, reject) => {
    const secure = proxy.protocol === 'https';
    const socket = secure
      ? tls.connect({ host: proxy.host, port: proxy.port, servername: net.isIP(proxy.host) ? undefined : proxy.host, ...options.proxyTls })
      : net.connect({ host: proxy.host, port: proxy.port });
    const timer = setTimeout(() => socket.destroy(new HttpError('E_TIMEOUT', `cannot reach proxy ${proxyLabel(proxy)} within ${options.timeoutMs} ms`, { method: 'CONNECT', url: proxyLabel(proxy) })), options.timeoutMs);
    const onError = (error: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(error instanceof HttpError ? error : new HttpError('E_PROXY', `cannot reach proxy ${proxyLabel(proxy)}: ${error.code ?? error.message}`, { method: 'CONNECT', url: proxyLabel(proxy) }, { cause: error }));
    };
    socket.once('error', onError);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function sendConnect(socket: Socket, options: TunnelOptions, authorization: string | undefined): Promise<ProxyResponse> {
  const authority = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, 'Proxy-Connection: keep-alive'];
  if (authorization) lines.push(`Proxy-Authorization: ${authorization}`);
  const reply = readResponse(socket, options);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return reply;
}

/** Reads one response head and its Content-Length body (a 407 page) off the socket. */
function readResponse(socket: Socket, options: TunnelOptions): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error instanceof HttpError ? error : new HttpError('E_PROXY', `proxy ${proxyLabel(options.proxy)} failed while opening a tunnel to ${options.host}:${options.port}: ${(error as { code?: string }).code ?? error.message}`, { method: 'CONNECT', url: proxyLabel(options.proxy) }, { cause: error }));
    };
    const onClose = () => onError(new Error('the proxy closed the connection'));
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffer.length > MAX_HEAD_BYTES) onError(new Error('response head too large'));
        return;
      }
      const [statusLine = '', ...headerLines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      const match = /^HTTP\/1\.[01] (\d{3})\s*(.*)$/.exec(statusLine);
      if (!match) return onError(new Error(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 40))}`));
      const headers = new Map<string, string[]>();
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      const length = Number(headers.get('content-length')?.[0] ?? 0);
      if (buffer.length < end + 4 + length) return;
      cleanup();
      const rest = buffer.subarray(end + 4 + length);
      if (rest.length > 0) socket.unshift(rest);
      resolve({ status: Number(match[1]), statusText: match[2] ?? '', headers });
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

function authSchemes(response: ProxyResponse): string {
  const schemes = (response.headers.get('proxy-authenticate') ?? []).map((v) => v.split(/\s+/)[0]).filter(Boolean);
  return schemes.length ? [...new Set(schemes)].join(', ') : 'none';
}

function proxyError(options: TunnelOptions, response: ProxyResponse, what: string, permanent = false): HttpError {
  const label = proxyLabel(options.proxy);
  return new HttpError(
    'E_PROXY',
    `proxy ${label} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''} to CONNECT ${options.host}:${options.port}: ${what}`,
    { method: 'CONNECT', url: label, status: response.status },
    { permanent },
  );
}
