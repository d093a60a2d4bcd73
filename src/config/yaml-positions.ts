import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Position {
  line: number;
  col: number;
}

function positionOf(node: { range?: [number, number, number] | null } | null | undefined, lines: LineCounter) {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset);
}

/**
 * Where a value (or, with `key`, a key) sits in the YAML source. A scalar value points at the
 * value itself; a mapping or list at its key (`scalar:` rather than the first line under it).
 * Falls back to the closest existing parent, so a missing required key points at the object
 * that lacks it.
 */
export function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
  /** `value`: point at a mapping or list value itself (for "got a list"), not at its key. */
  prefer: 'label' | 'value' = 'label',
): Position | undefined {
  let node: unknown = doc.contents;
  let best = positionOf(doc.contents as Node | null, lines);
  let label = best;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return label;
      label = positionOf(pair.key as Node, lines) ?? best;
      best = label;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      label = positionOf(node as Node | null, lines) ?? best;
    } else {
      return label;
    }
    best = positionOf(node as Node | null, lines) ?? best;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair) return positionOf(pair.key as Node, lines) ?? best;
  }
  return (isMap(node) || isSeq(node)) && prefer === 'label' ? label : best;
}
