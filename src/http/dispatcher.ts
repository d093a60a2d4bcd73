import { Agent, type Dispatcher } from 'undici';
import type { Connection } from '../config/types.js';

/**
 * One undici dispatcher per connection, so TLS pinning, CA and proxy settings apply to that
 * connection only and its keep-alive sockets are reused across pages and runs.
 */
export function createDispatcher(connection: Connection): Dispatcher {
  return new Agent({
    connect: { timeout: connection.timeout },
    headersTimeout: connection.timeout,
    bodyTimeout: connection.timeout,
  });
}
