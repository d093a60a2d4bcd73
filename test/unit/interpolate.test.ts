import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/config/interpolate.js';

describe('interpolate', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x', []],
    ['pre-${A}-post', { A: 'x:#y' }, 'pre-x:#y-post', []],
    ['${B:-fallback}', {}, 'fallback', []],
    ['${B:-}', {}, '', []],
    ['$${A}', { A: 'x' }, '${A}', []],
    ['${MISSING}', {}, '', ['MISSING']],
  ])('%s', (input, env, value, missing) => {
    expect(interpolate(input, env)).toEqual({ value, missing });
  });
});
