import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata } from 'oidc-provider';

/** A real, certified OAuth2/OpenID Connect server (oidc-provider) on a loopback port. */
export interface OidcServer {
  issuer: string;
  provider: Provider;
  /** grant_type of each token request the provider answered, with its outcome. */
  grants: Array<{ grantType: string; ok: boolean; error?: string; params: Record<string, string> }>;
  close(): Promise<void>;
}

export interface OidcServerOptions {
  clients: ClientMetadata[];
  /** Access token lifetime in seconds. @default 3600 */
  accessTokenTtl?: number;
}

/**
 * Starts oidc-provider with its development login/consent pages (any login is accepted), PKCE
 * required for every client, refresh tokens for `offline_access` (asked with prompt=consent) and
 * rotated on every use, so a used refresh token is rejected with invalid_grant.
 */
export async function startOidcServer(options: OidcServerOptions): Promise<OidcServer> {
  const state: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const grants: OidcServer['grants'] = [];
  const server = createServer((req, res) => state.handler!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: options.clients,
    cookies: { keys: ['restq-test-cookie-key'] },
    pkce: { methods: ['S256'], required: () => true },
    ttl: { AccessToken: options.accessTokenTtl ?? 3600, AuthorizationCode: 60, RefreshToken: 86_400, Grant: 86_400, Session: 3600, Interaction: 600 },
    rotateRefreshToken: true,
    features: { devInteractions: { enabled: true } },
  });
  // Its development warnings are about a test set-up, on purpose.
  provider.on('server_error', (_ctx: unknown, error: Error) => process.stderr.write(`oidc-provider server_error: ${error.message}\n`));
  const paramsOf = (ctx: { oidc: { params?: Record<string, unknown> } }) =>
    Object.fromEntries(Object.entries(ctx.oidc.params ?? {}).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  provider.on('grant.success', (ctx) => grants.push({ grantType: String(ctx.oidc.params?.['grant_type']), ok: true, params: paramsOf(ctx) }));
  provider.on('grant.error', (ctx, error) =>
    grants.push({ grantType: String(ctx.oidc.params?.['grant_type']), ok: false, error: (error as { error?: string }).error ?? error.message, params: paramsOf(ctx) }),
  );
  state.handler = provider.callback();
  return {
    issuer,
    provider,
    grants,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What the "browser" saw at the end: the loopback callback's answer. */
export interface BrowserOutcome {
  /** The redirect to the client (http://127.0.0.1:PORT/callback?code=…&state=…). */
  redirect: URL;
  /** Status and page text of the callback, when it was followed. */
  status?: number;
  body?: string;
}

/**
 * Acts as the user's browser: opens the authorization URL, signs in on the provider's login page,
 * gives (or declines) consent, and follows the redirect to the loopback callback. Cookies are kept
 * by name, which is all oidc-provider's interaction needs.
 */
export async function actAsBrowser(
  authorizationUrl: string,
  options: { login?: string; decline?: boolean; follow?: boolean; rewriteRedirect?: (url: URL) => URL } = {},
): Promise<BrowserOutcome> {
  const cookies = new Map<string, string>();
  const send = async (url: string, init: { method?: string; body?: string } = {}) => {
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.body ? { body: init.body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  };

  let url = authorizationUrl;
  let init: { method?: string; body?: string } = {};
  for (let step = 0; step < 20; step++) {
    const response = await send(url, init);
    init = {};
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location')!, url);
      await response.body?.cancel();
      if (location.pathname === '/callback' && location.hostname === '127.0.0.1') {
        const redirect = options.rewriteRedirect ? options.rewriteRedirect(location) : location;
        if (options.follow === false) return { redirect };
        const answer = await fetch(redirect);
        return { redirect, status: answer.status, body: await answer.text() };
      }
      url = location.href;
      continue;
    }
    const page = await response.text();
    if (response.status !== 200) throw new Error(`provider answered ${response.status} at ${url}: ${page.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(page)?.[1];
    if (!action || !prompt) throw new Error(`no login or consent form at ${url}: ${page.slice(0, 500)}`);
    if (options.decline) {
      const abort = /<a href="([^"]+\/abort)"/.exec(page)?.[1];
      if (!abort) throw new Error(`no cancel link at ${url}`);
      url = new URL(abort, url).href;
      continue;
    }
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', options.login ?? 'etl-user');
      form.set('password', 'any password');
    }
    url = new URL(action, url).href;
    init = { method: 'POST', body: form.toString() };
  }
  throw new Error('the authorization did not end in a redirect to the loopback callback within 20 steps');
}
