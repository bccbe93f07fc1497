/** A JSONPatch (RFC 6902) applier for tests: add and replace, as the API server applies a webhook's patch. */
import type { PatchOp } from '../../src/kube-ovn/mutate.ts';

export function applyPatch<T>(doc: T, ops: PatchOp[]): T {
  const out = structuredClone(doc) as unknown;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let at = out as Record<string, unknown> | unknown[];
    for (const p of parts) {
      const next = Array.isArray(at) ? at[Number(p)] : at[p];
      if (typeof next !== 'object' || next === null) throw new Error(`${op.op} ${op.path}: ${p} does not exist`);
      at = next as Record<string, unknown>;
    }
    if (Array.isArray(at)) {
      const i = last === '-' ? at.length : Number(last);
      if (op.op === 'replace' && i >= at.length) throw new Error(`replace ${op.path}: no element ${i}`);
      if (op.op === 'add') at.splice(i, 0, structuredClone(op.value));
      else at[i] = structuredClone(op.value);
    } else {
      if (op.op === 'replace' && !(last in at)) throw new Error(`replace ${op.path}: no member ${last}`);
      at[last] = structuredClone(op.value);
    }
  }
  return out as T;
}
