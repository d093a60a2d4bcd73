import { describe, expect, it } from 'vitest';
import { tuneHeapForJobs } from '../../src/heap-tuning.js';

describe('tuneHeapForJobs', () => {
  it('leaves a growing factor given on the node command line alone, and sets its own otherwise', () => {
    expect(tuneHeapForJobs(['--heap-growing-percent=20'])).toBe(false);
    expect(tuneHeapForJobs(['--max-old-space-size=512', '--heap_growing_percent=20'])).toBe(false);
    expect(tuneHeapForJobs(['--max-old-space-size=512'])).toBe(true);
  });
});
