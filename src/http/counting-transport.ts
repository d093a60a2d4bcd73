import { isRestqError } from '../errors/restq-error.js';
import type { Transport } from './transport.js';

/** What the HTTP layer counts (ops/metrics.ts implements it; an interface lives with its user). */
export interface HttpMetrics {
  /** One request sent, by HTTP status or failure label (timeout, tls, proxy, network). */
  httpRequest(connection: string, status: number | string): void;
  /** One retry, by status or error code. */
  retry(connection: string, reason: string): void;
}

/** `status` label for a request that got no HTTP answer. */
function failureLabel(error: unknown): string {
  if (!isRestqError(error)) return 'error';
  switch (error.code) {
    case 'E_TIMEOUT':
      return 'timeout';
    case 'E_TLS':
      return 'tls';
    case 'E_PROXY':
      return 'proxy';
    default:
      return 'network';
  }
}

/**
 * Counts every request a connection sends (each retry and each 401 re-send included) by status,
 * so `restq_http_requests_total{status="429"}` shows what the API answered, not what the run saw.
 */
export function countingTransport(transport: Transport, connection: string, metrics: HttpMetrics): Transport {
  return async (request) => {
    try {
      const response = await transport(request);
      metrics.httpRequest(connection, response.status);
      return response;
    } catch (error) {
      metrics.httpRequest(connection, failureLabel(error));
      throw error;
    }
  };
}
