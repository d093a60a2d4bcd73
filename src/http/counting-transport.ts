import { isRestqError } from '../errors/restq-error.js';
import type { Transport } from './transport.js';
import type { Metrics } from '../ops/metrics.js';

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
export function countingTransport(transport: Transport, connection: string, metrics: Metrics): Transport {
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
