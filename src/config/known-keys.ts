import type * as z from 'zod';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
}

// zod 4 keeps a schema's structure in `_zod.def`; walking it lets "did you mean" know the
// keys allowed at any path without a second hand-kept list.
function def(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function objectsOf(schema: z.ZodType): z.ZodType[] {
  const d = def(schema);
  switch (d.type) {
    case 'object':
      return [schema];
    case 'optional':
    case 'default':
    case 'nullable':
    case 'prefault':
      return objectsOf(d.innerType!);
    case 'pipe':
      return [...objectsOf(d.in!), ...objectsOf(d.out!)];
    case 'union':
      return d.options!.flatMap(objectsOf);
    default:
      return [];
  }
}

function child(schema: z.ZodType, segment: PropertyKey): z.ZodType[] {
  const d = def(schema);
  switch (d.type) {
    case 'object': {
      const next = d.shape?.[String(segment)];
      return next ? [next] : [];
    }
    case 'record':
      return [d.valueType!];
    case 'array':
      return [d.element!];
    case 'optional':
    case 'default':
    case 'nullable':
    case 'prefault':
      return child(d.innerType!, segment);
    case 'pipe':
      return [...child(d.in!, segment), ...child(d.out!, segment)];
    case 'union':
      return d.options!.flatMap((o) => child(o, segment));
    default:
      return [];
  }
}

/** The keys a strict object at `path` accepts (empty when unknown). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current = [schema];
  for (const segment of path) current = current.flatMap((s) => child(s, segment));
  return [...new Set(current.flatMap(objectsOf).flatMap((o) => Object.keys(def(o).shape ?? {})))];
}
