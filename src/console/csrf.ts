import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * Cross-site request protection for the console's state-changing requests (run now, cursor
 * reset): the browser's Origin (or Sec-Fetch-Site) must be this site, and forms carry a token
 * only pages served by this process know. Scripts without a browser (curl with Basic auth)
 * send neither header and pass; a browser on another site cannot forge either.
 */
export class CsrfGuard {
  readonly #secret = randomBytes(32);

  /** The token forms carry (one per process: pages are served only to authenticated users). */
  get token(): string {
    return createHmac('sha256', this.#secret).update('restq-console-form').digest('base64url');
  }

  #validToken(given: unknown): boolean {
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Refuses unsafe methods from another origin; form posts also need the token. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
      const refuse = (why: string) => res.status(403).json({ error: `cross-site request refused: ${why}` });
      const origin = req.headers.origin;
      if (origin !== undefined) {
        const own = `${req.protocol}://${req.headers.host ?? ''}`;
        if (origin !== own) return refuse(`Origin ${origin} is not ${own}`);
      } else if (req.headers['sec-fetch-site'] === 'cross-site') {
        return refuse('Sec-Fetch-Site is cross-site');
      }
      if (req.is('application/x-www-form-urlencoded') || req.is('multipart/form-data')) {
        const body = req.body as Record<string, unknown> | undefined;
        if (!this.#validToken(body?.['_csrf'])) return refuse('the form token is missing or wrong (reload the page)');
      } else if (!req.is('application/json')) {
        return res.status(415).json({ error: 'send JSON (Content-Type: application/json)' });
      }
      next();
    };
  }
}
