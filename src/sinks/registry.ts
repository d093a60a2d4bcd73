import type { SinkSpec } from '../config/types.js';
import { RestqError } from '../errors/restq-error.js';
import { CsvSink } from './csv-sink.js';
import type { Sink, SinkContext, SinkFactory } from './sink.js';
import { StdoutSink } from './stdout-sink.js';
import { WebhookSink } from './webhook-sink.js';

type Registry = { [K in SinkSpec['type']]?: SinkFactory<Extract<SinkSpec, { type: K }>> };

/** Sinks by their key in `output:`; a new sink registers here and nowhere else. */
export const SINKS: Registry = {
  csv: (spec, ctx) => new CsvSink(spec, ctx),
  stdout: (spec, ctx) => new StdoutSink(spec, ctx),
  webhook: (spec, ctx) => new WebhookSink(spec, ctx),
};

export function createSink(spec: SinkSpec, ctx: SinkContext): Sink {
  const factory = SINKS[spec.type] as SinkFactory | undefined;
  if (!factory) {
    throw new RestqError('E_SINK', `output "${spec.type}" of job "${ctx.job.name}" is not available in this version of restq`, { permanent: true });
  }
  return factory(spec, ctx);
}
