import { describe, expect, it } from 'vitest';
import { explainRefusal } from '../../src/redis/redis-connection.js';
import type { RedisTopology } from '../../src/redis/topology.js';

// The refusals the TLS/ACL integration test cannot provoke cheaply (NOPERM, a host-name
// mismatch), and what is not a refusal. The password never appears in a message.
const single: RedisTopology = { kind: 'single', url: 'rediss://restq:hunter2-pw@cache.internal:6380' };
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('Redis refusals in words', () => {
  it('NOPERM: says which ACL grants restq needs', () => {
    const text = explainRefusal(single, new Error("NOPERM User restq has no permissions to run the 'evalsha' command"));
    expect(text).toBe(
      `Redis at rediss://restq:***@cache.internal:6380 accepted the login but the user may not run what restq needs (NOPERM User restq has no permissions to run the 'evalsha' command): grant the ACL user its keys, channels and commands, e.g. "~* &* +@all"`,
    );
  });

  it('a certificate for another host or an expired one is a TLS trust problem', () => {
    const altname = explainRefusal(single, withCode("Hostname/IP does not match certificate's altnames: Host: cache.internal. is not in the cert's altnames: DNS:localhost", 'ERR_TLS_CERT_ALTNAME_INVALID'));
    expect(altname).toMatch(/^the TLS certificate of Redis at rediss:\/\/restq:\*\*\*@cache\.internal:6380 is not trusted \(Hostname\/IP does not match/);
    expect(explainRefusal(single, withCode('certificate has expired', 'CERT_HAS_EXPIRED'))).toMatch(/not trusted \(certificate has expired\): .*NODE_EXTRA_CA_CERTS/);
  });

  it('a server that is down is not a refusal (the caller says it cannot reach Redis)', () => {
    expect(explainRefusal(single, withCode('connect ECONNREFUSED 10.0.0.1:6380', 'ECONNREFUSED'))).toBeUndefined();
    expect(explainRefusal(single, new Error('no answer within 5000 ms'))).toBeUndefined();
  });

  it('never repeats the password', () => {
    for (const message of ['WRONGPASS invalid username-password pair or user is disabled.', 'NOAUTH Authentication required.', 'self-signed certificate in certificate chain']) {
      const text = explainRefusal(single, new Error(message));
      expect(text).toBeDefined();
      expect(text).not.toContain('hunter2');
    }
  });
});
