import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net, { type AddressInfo, type Socket } from 'node:net';
import { md4 } from './md4.js';

export interface NtlmAttempt {
  domain: string;
  user: string;
  workstation: string;
  /** The NTLMv2 proof matched one computed here from the known password. */
  validNtlmV2: boolean;
  target: string;
}

export interface NtlmProxy {
  port: number;
  attempts: NtlmAttempt[];
  /** CONNECT requests answered 200, by target. */
  tunnels: string[];
  /** Raw Proxy-Authorization header values seen (to check that no password travels in clear). */
  headers: string[];
  close(): Promise<void>;
}

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const FLAGS = 0x00000001 /* UNICODE */ | 0x00000004 /* REQUEST_TARGET */ | 0x00000200 /* NTLM */ | 0x00008000 /* ALWAYS_SIGN */ | 0x00080000 /* EXTENDED_SESSION_SECURITY */ | 0x00800000; /* TARGET_INFO */

const utf16 = (s: string) => Buffer.from(s, 'utf16le');

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

function type2(domain: string, challenge: Buffer): Buffer {
  const target = utf16(domain);
  const info = Buffer.concat([avPair(2, utf16(domain)), avPair(1, utf16('TESTPROXY')), avPair(0, Buffer.alloc(0))]);
  const head = Buffer.alloc(48);
  SIGNATURE.copy(head, 0);
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(target.length, 12);
  head.writeUInt16LE(target.length, 14);
  head.writeUInt32LE(48, 16);
  head.writeUInt32LE(FLAGS, 20);
  challenge.copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(48 + target.length, 44);
  return Buffer.concat([head, target, info]);
}

function field(message: Buffer, at: number): Buffer {
  const length = message.readUInt16LE(at);
  const offset = message.readUInt32LE(at + 4);
  return message.subarray(offset, offset + length);
}

/**
 * Checks a Type 3 message independently of the NTLM library under test: NTOWFv2 =
 * HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain)); the NT response is
 * NTProofStr (16 bytes) + blob, with NTProofStr = HMAC-MD5(NTOWFv2, serverChallenge + blob).
 */
function checkType3(message: Buffer, challenge: Buffer, password: string): Omit<NtlmAttempt, 'target'> {
  if (!message.subarray(0, 8).equals(SIGNATURE) || message.readUInt32LE(8) !== 3) throw new Error('not an NTLM Type 3 message');
  const nt = field(message, 20);
  const domain = field(message, 28).toString('utf16le');
  const user = field(message, 36).toString('utf16le');
  const workstation = field(message, 44).toString('utf16le');
  const ntowfv2 = createHmac('md5', md4(utf16(password))).update(utf16(user.toUpperCase() + domain)).digest();
  const proof = nt.subarray(0, 16);
  const blob = nt.subarray(16);
  const expected = createHmac('md5', ntowfv2).update(Buffer.concat([challenge, blob])).digest();
  const validNtlmV2 = nt.length > 16 + 28 && blob.readUInt32BE(0) === 0x01010000 && timingSafeEqual(proof, expected);
  return { domain, user, workstation, validNtlmV2 };
}

/**
 * A CONNECT proxy that only opens tunnels after an NTLMv2 handshake (Type 1 → 407 with a Type 2
 * challenge → Type 3) on the same connection, for `domain\user` with `password`.
 */
export async function startNtlmProxy(expected: { domain: string; user: string; password: string }): Promise<NtlmProxy> {
  const attempts: NtlmAttempt[] = [];
  const tunnels: string[] = [];
  const headers: string[] = [];
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let challenge: Buffer | undefined;
    const reply = (status: string, extra: string[] = []) => client.write([`HTTP/1.1 ${status}`, ...extra, 'Content-Length: 0', '', ''].join('\r\n'));
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [requestLine = '', ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      buffer = buffer.subarray(end + 4);
      const [method, target = ''] = requestLine.split(' ');
      if (method !== 'CONNECT') return reply('405 Method Not Allowed');
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, '');
      if (auth) headers.push(auth);
      const ntlm = auth && /^NTLM (.+)$/.exec(auth);
      if (!ntlm) return reply('407 Proxy Authentication Required', ['Proxy-Authenticate: NTLM']);
      const message = Buffer.from(ntlm[1]!, 'base64');
      const type = message.subarray(0, 8).equals(SIGNATURE) ? message.readUInt32LE(8) : 0;
      if (type === 1) {
        challenge = randomBytes(8);
        return reply('407 Proxy Authentication Required', [`Proxy-Authenticate: NTLM ${type2(expected.domain, challenge).toString('base64')}`, 'Proxy-Connection: keep-alive']);
      }
      if (type !== 3 || !challenge) return reply('407 Proxy Authentication Required', ['Proxy-Authenticate: NTLM']);
      const attempt = { ...checkType3(message, challenge, expected.password), target };
      attempts.push(attempt);
      if (!attempt.validNtlmV2 || attempt.user !== expected.user || attempt.domain !== expected.domain) {
        return reply('407 Proxy Authentication Required', ['Proxy-Authenticate: NTLM', 'Proxy-Connection: close']);
      }
      const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
      client.off('data', onData);
      const upstream = net.connect(port, host, () => {
        tunnels.push(target);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (buffer.length > 0) upstream.write(buffer);
        client.pipe(upstream).pipe(client);
      });
      upstream.on('error', () => client.destroy());
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    attempts,
    tunnels,
    headers,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
