import { Readable } from 'node:stream';
import type { Redactor } from '../config/redactor.js';
import type { ResponseRuleSpec } from '../config/schema.js';
import { queryFirst } from '../query/jsonpath.js';
import type { HttpResponse, Transport } from './http-client.js';

/** The rule a response matched (`responses:` of its connection), attached to the response. */
export interface RuleMatch {
  /** 0-based position in `responses:`. */
  index: number;
  action: ResponseRuleSpec['action'];
  /** From the rule's `message` (JSONPath into the body, or literal text), redacted and shortened. */
  message?: string | undefined;
}

/**
 * Bodies up to this size are read to test rule conditions; a larger body (a data page, not an
 * error envelope) is passed through unread and untested, so streaming stays flat for huge pages.
 */
export const RULE_BODY_LIMIT = 4 * 1024 * 1024;
const MESSAGE_CHARS = 300;

interface CompiledRule {
  index: number;
  statuses: ReadonlySet<number> | undefined;
  spec: ResponseRuleSpec;
  test: ((found: boolean, value: unknown) => boolean) | undefined;
}

/** `(?i)rate limit` → /rate limit/i: the inline flag users know from other regex dialects. */
export function compileMatches(pattern: string): RegExp {
  const inline = /^\(\?([a-z]+)\)/.exec(pattern);
  const flags = inline ? [...new Set(inline[1]!.replace(/[^imsu]/g, ''))].join('') : '';
  return new RegExp(inline ? pattern.slice(inline[0].length) : pattern, flags);
}

function sameValue(value: unknown, expected: unknown): boolean {
  if (value === expected) return true;
  return value !== null && typeof value !== 'object' && expected !== null && String(value) === String(expected);
}

function compile(spec: ResponseRuleSpec, index: number): CompiledRule {
  const statuses = spec.status === undefined ? undefined : new Set(Array.isArray(spec.status) ? spec.status : [spec.status]);
  let test: CompiledRule['test'];
  if (spec.path !== undefined) {
    if (spec.matches !== undefined) {
      const regex = compileMatches(spec.matches);
      test = (found, value) => found && value !== null && typeof value !== 'object' && regex.test(String(value));
    } else if (spec.equals !== undefined) {
      const expected = spec.equals;
      test = (found, value) => found && sameValue(value, expected);
    } else {
      const wanted = spec.exists ?? true;
      test = (found, value) => (found && value !== undefined) === wanted;
    }
  }
  return { index, statuses, spec, test };
}

function messageOf(spec: ResponseRuleSpec, json: unknown, redactor: Redactor | undefined): string | undefined {
  if (spec.message === undefined) return undefined;
  let text = spec.message;
  if (spec.message.startsWith('$')) {
    const { found, value } = queryFirst(spec.message, json);
    if (!found || value === undefined || value === null) return undefined;
    text = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const short = oneLine.length > MESSAGE_CHARS ? `${oneLine.slice(0, MESSAGE_CHARS)}…` : oneLine;
  return redactor ? redactor.redact(short) : short;
}

/** A body that replays the bytes already read, then the rest of the original stream. */
function replayBody(head: Buffer[], rest: HttpResponse['body'] | undefined): HttpResponse['body'] {
  async function* chunks(): AsyncGenerator<Buffer> {
    yield* head;
    if (rest) for await (const chunk of rest as AsyncIterable<Buffer>) yield chunk;
  }
  const body = Readable.from(chunks(), { objectMode: false }) as HttpResponse['body'];
  if (rest) body.once('close', () => rest.on('error', () => undefined).destroy());
  body.text = async () => {
    const parts: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) parts.push(chunk);
    return Buffer.concat(parts).toString('utf8');
  };
  body.dump = async () => {
    body.destroy();
  };
  return body;
}

/** Reads up to RULE_BODY_LIMIT bytes; `complete` when that was the whole body. */
async function readHead(body: HttpResponse['body']): Promise<{ chunks: Buffer[]; complete: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const iterator = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    const step = await iterator.next();
    if (step.done) return { chunks, complete: true };
    chunks.push(step.value);
    bytes += step.value.length;
    if (bytes > RULE_BODY_LIMIT) return { chunks, complete: false };
  }
}

export interface ResponseRulesOptions {
  redactor?: Redactor | undefined;
}

/**
 * Wraps a transport with a connection's `responses:` rules: the first rule whose status and
 * JSONPath condition match is attached to the response as `rule`, for the retry wrapper
 * (`retry`) and the ApiClient (`refresh`, `fail`, `skip`) to act on. A body is read only when a
 * rule with a condition applies to its status, and then handed on unchanged.
 */
export function withResponseRules(transport: Transport, rules: readonly ResponseRuleSpec[], options: ResponseRulesOptions = {}): Transport {
  if (rules.length === 0) return transport;
  const compiled = rules.map(compile);
  return async (request) => {
    const response = await transport(request);
    const candidates = compiled.filter((r) => !r.statuses || r.statuses.has(response.status));
    if (candidates.length === 0) return response;
    let json: unknown;
    let parsed = false;
    if (candidates.some((r) => r.test)) {
      const length = Number(response.headers['content-length']);
      if (!(Number.isFinite(length) && length > RULE_BODY_LIMIT)) {
        const { chunks, complete } = await readHead(response.body);
        if (complete) {
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8').replace(/^\uFEFF/, '')) as unknown;
            parsed = true;
          } catch {
            // Not JSON: conditions see no value (the reader downstream reports the body itself).
          }
        }
        response.body = replayBody(chunks, complete ? undefined : response.body);
      }
    }
    for (const rule of candidates) {
      if (rule.test) {
        const { found, value } = parsed ? queryFirst(rule.spec.path!, json) : { found: false, value: undefined };
        if (!rule.test(found, value)) continue;
      }
      response.rule = { index: rule.index, action: rule.spec.action, message: messageOf(rule.spec, json, options.redactor) };
      return response;
    }
    return response;
  };
}
