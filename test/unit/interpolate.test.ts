import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/config/interpolate.js';

describe('interpolate', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x', [], ['A']],
    ['pre-${A}-post', { A: 'x:#y' }, 'pre-x:#y-post', [], ['A']],
    ['${B:-fallback}', {}, 'fallback', [], []],
    ['${B:-}', {}, '', [], []],
    ['${E:-used when empty}', { E: '' }, 'used when empty', [], []],
    ['${E}', { E: '' }, '', [], []],
    ['$${A}', { A: 'x' }, '${A}', [], []],
    ['$${ alone', {}, '${ alone', [], []],
    ['${A}${MISSING}', { A: 'x' }, 'x', ['MISSING'], ['A']],
    ['no reference: $A {A} $', { A: 'x' }, 'no reference: $A {A} $', [], []],
  ])('%s', (input, env, value, missing, used) => {
    expect(interpolate(input, env)).toEqual({ value, missing, used, malformed: false });
  });

  it('flags a ${ that is no reference', () => {
    expect(interpolate('${1X} ${A', {}).malformed).toBe(true);
  });

  it('does not interpolate again inside a substituted value', () => {
    expect(interpolate('${A}', { A: '${B}', B: 'no' }).value).toBe('${B}');
  });
});
