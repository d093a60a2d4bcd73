import type { ParamValue } from '../expr/template.js';
import type { Redactor } from './redactor.js';
import type { ConnectionSpec, GridSpec, IncrementalSpec, ScalarSpec } from './schema.js';

export type SecurityProtocol = ConnectionSpec['securityProtocol'];

/** A validated connection; paths in `tls` are absolute. */
export interface Connection extends ConnectionSpec {
  readonly name: string;
  /** Where it was declared, for messages. */
  readonly source: string;
}

export interface CsvSinkSpec {
  readonly type: 'csv';
  /** Template with {job} {date} {time} {runId}; relative to the config directory. */
  readonly path: string;
  readonly delimiter: string;
  readonly header: boolean;
  readonly bom: boolean;
  readonly append: boolean;
}

export interface WebhookSinkSpec {
  readonly type: 'webhook';
  readonly url: string;
  readonly batchSize: number;
  readonly secret?: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly format: 'json' | 'ndjson';
  readonly timeout: number;
  /** Tries per batch and the longest wait between them (`webhook.retry`). */
  readonly retry?: { readonly attempts: number; readonly maxDelay: number } | undefined;
}

export interface StdoutSinkSpec {
  readonly type: 'stdout';
  readonly format: 'ndjson' | 'csv' | 'json';
}

export type SinkSpec = CsvSinkSpec | WebhookSinkSpec | StdoutSinkSpec;

export type { ParamValue };

interface JobBase {
  readonly name: string;
  /** Path of the job file relative to the config directory. */
  readonly file: string;
  readonly description?: string | undefined;
  readonly connection: string;
  readonly schedule?: string | undefined;
  readonly timezone: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly outputs: readonly SinkSpec[];
  readonly attempts: number;
  /** Whole run, in milliseconds. */
  readonly timeout: number;
  /** What to do with ticks missed while nothing ran (SPEC 8). */
  readonly misfire: 'once' | 'skip';
}

/** `incremental:` of a grid job; durations in milliseconds. */
export type Incremental = IncrementalSpec;

export interface GridJob extends JobBase {
  readonly kind: 'grid';
  readonly grid: GridSpec;
  readonly incremental?: Incremental | undefined;
}

export interface ScalarJob extends JobBase {
  readonly kind: 'scalar';
  readonly scalar: ScalarSpec;
}

export type Job = GridJob | ScalarJob;

/** The whole configuration, parsed and validated once and frozen. */
export interface Config {
  /** Absolute config directory: relative paths (tls files, outputs) resolve against it. */
  readonly dir: string;
  readonly connections: Readonly<Record<string, Connection>>;
  readonly jobs: Readonly<Record<string, Job>>;
  /** Knows every secret value of this config. */
  readonly redactor: Redactor;
  /** Non-fatal notes found while loading (e.g. TLS1.0 in use). */
  readonly warnings: readonly string[];
}
