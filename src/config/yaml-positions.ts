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
 * Where a value (or, with `key`, a key) sits in the YAML source. Falls back to the closest
 * existing parent, so a missing required key points at the object that lacks it.
 */
export function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): Position | undefined {
  let node: unknown = doc.contents;
  let best = positionOf(doc.contents as Node | null, lines);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return best;
      best = positionOf(pair.key as Node, lines) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else {
      return best;
    }
    best = positionOf(node as Node | null, lines) ?? best;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair) return positionOf(pair.key as Node, lines) ?? best;
  }
  return best;
}
