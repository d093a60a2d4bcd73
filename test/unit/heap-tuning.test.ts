import { describe, expect, it } from 'vitest';
import { tuneHeapForBigPages } from '../../src/heap-tuning.js';

describe('tuneHeapForBigPages', () => {
  it('leaves a growing factor given on the node command line alone, sets its own once otherwise', () => {
    expect(tuneHeapForBigPages(['--heap-growing-percent=20'])).toBe(false);
    expect(tuneHeapForBigPages(['--max-old-space-size=512', '--heap_growing_percent=20'])).toBe(false);
    expect(tuneHeapForBigPages(['--max-old-space-size=512'])).toBe(true);
    // Every later huge page finds it set.
    expect(tuneHeapForBigPages(['--max-old-space-size=512'])).toBe(false);
  });
});
