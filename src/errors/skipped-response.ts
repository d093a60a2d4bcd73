import { HttpError, type HttpErrorContext } from './http-error.js';

/**
 * A response dropped on purpose: a `responses:` rule with `action: skip`, or a forEach child
 * status listed in `skipOn`. Not a failure: the grid ends that page sequence (or skips that
 * parent) and counts it.
 */
export class SkippedResponse extends HttpError {
  constructor(message: string, context: HttpErrorContext) {
    super('E_SKIPPED', message, context, { permanent: true });
  }
}
