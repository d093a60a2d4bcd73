import type { Telemetry } from 'bullmq';
import type { Logger } from '../logger.js';
import type { OtelSettings } from '../runtime/settings.js';

/** OpenTelemetry tracing of BullMQ (enqueue → process spans, with context carried in the job). */
export interface RestqTelemetry {
  /** For the `telemetry` option of BullMQ's Queue and Worker. */
  readonly telemetry: Telemetry;
  /** Flushes pending spans and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`otel` not null; off otherwise, and
 * then nothing of OpenTelemetry is even loaded): an OTLP/HTTP exporter to `<endpoint>/v1/traces`
 * (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_EXPORTER_OTLP_HEADERS applies) behind a batch
 * processor, service name from OTEL_SERVICE_NAME (default "restq"), and bullmq-otel as BullMQ's
 * telemetry.
 */
export async function startTelemetry(otel: OtelSettings | null, logger?: Logger): Promise<RestqTelemetry | undefined> {
  if (!otel) return undefined;
  const { endpoint } = otel;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { BullMQOtel }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('bullmq-otel'),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': otel.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: otel.tracesEndpoint }))],
  });
  provider.register();
  logger?.info({ endpoint }, 'OpenTelemetry tracing of the queue is on (OTEL_EXPORTER_OTLP_ENDPOINT)');
  return {
    telemetry: new BullMQOtel({ tracerName: 'restq' }),
    shutdown: () => provider.shutdown(),
  };
}
