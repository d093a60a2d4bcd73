import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config, ParamValue } from '../../src/config/types.js';
import { ApiClients } from '../../src/http/api-client-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { runJob, type RunResult } from '../../src/runner.js';

/** Collects what a sink writes to "stdout". */
export class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface InProcessRun {
  config: Config;
  result?: RunResult;
  error?: unknown;
  stdout: string;
  logs: string;
}

/** Loads `dir` and runs one job with runJob(), as `restq run` does, capturing stdout and logs. */
export async function runInProcess(
  dir: string,
  job: string,
  options: { env?: Record<string, string>; params?: Record<string, ParamValue>; runId?: string; clock?: () => Date; lastSuccessAt?: string } = {},
): Promise<InProcessRun> {
  const config = loadConfig({ dir, env: options.env ?? {} });
  const logs = new Collector();
  const logger = createLogger({ level: 'debug', destination: logs, redactor: config.redactor, pretty: false });
  const stdout = new Collector();
  const clients = new ApiClients({ config, logger });
  try {
    const result = await runJob({
      config,
      job,
      clients,
      logger,
      stdout,
      ...(options.params ? { params: options.params } : {}),
      ...(options.runId ? { runId: options.runId } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.lastSuccessAt ? { lastSuccessAt: options.lastSuccessAt } : {}),
    });
    return { config, result, stdout: stdout.text, logs: logs.text };
  } catch (error) {
    return { config, error, stdout: stdout.text, logs: logs.text };
  } finally {
    await clients.close();
  }
}
