/**
 * A deliberately small Mustache subset for FRR config templates: the code decides, the template prints.
 *   {{name}} / {{a.b}} / {{.}}   a value (must be a safe config token: no whitespace, quotes or control characters)
 *   {{#name}}...{{/name}}         a section: repeated for each list item, once for any other truthy value
 *   {{^name}}...{{/name}}         an inverted section: once when the value is falsy or an empty list
 *   {{>partial}}                   another template file, rendered in the current context
 * A tag alone on its line (sections, partials) leaves no blank line, as in Mustache.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export class TemplateError extends Error {}

type Node =
  | { t: 'text'; text: string }
  | { t: 'var'; name: string }
  | { t: 'section'; name: string; inverted: boolean; children: Node[] }
  | { t: 'partial'; name: string };

/** One token: printable non-space ASCII other than quotes. Anything else could start a new FRR line or break one. */
const SAFE_VALUE = /^[\x21\x23-\x26\x28-\x7e]+$/;

function parse(src: string, name: string): Node[] {
  // Standalone tags: a line holding only a section/partial tag (and whitespace) is replaced by the tag alone.
  const text = src.replace(/^[ \t]*(\{\{[#^/>][^}]*\}\})[ \t]*\r?\n/gm, '$1');
  const root: Node[] = [];
  const stack: Array<{ name: string; children: Node[] }> = [{ name: '', children: root }];
  const re = /\{\{\s*([#^/>]?)\s*([\w.-]+|\.)\s*\}\}/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const top = stack[stack.length - 1]!;
    if (m.index > last) top.children.push({ t: 'text', text: text.slice(last, m.index) });
    last = re.lastIndex;
    const [, sigil, id = ''] = m;
    if (sigil === '#' || sigil === '^') {
      const node: Node = { t: 'section', name: id, inverted: sigil === '^', children: [] };
      top.children.push(node);
      stack.push({ name: id, children: node.children });
    } else if (sigil === '/') {
      if (stack.length < 2 || top.name !== id) throw new TemplateError(`${name}: unexpected {{/${id}}}`);
      stack.pop();
    } else if (sigil === '>') top.children.push({ t: 'partial', name: id });
    else top.children.push({ t: 'var', name: id });
  }
  if (last < text.length) stack[stack.length - 1]!.children.push({ t: 'text', text: text.slice(last) });
  if (stack.length !== 1) throw new TemplateError(`${name}: unclosed {{#${stack[stack.length - 1]!.name}}}`);
  if (/\{\{|\}\}/.test(text.replace(re, ''))) throw new TemplateError(`${name}: malformed tag`);
  return root;
}

function lookup(stack: readonly unknown[], name: string): unknown {
  if (name === '.') return stack[stack.length - 1];
  const [head = '', ...rest] = name.split('.');
  for (let i = stack.length - 1; i >= 0; i--) {
    const ctx = stack[i];
    if (ctx !== null && typeof ctx === 'object' && head in ctx) {
      let v: unknown = (ctx as Record<string, unknown>)[head];
      for (const k of rest) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
      return v;
    }
  }
  return undefined;
}

export class Templates {
  private cache = new Map<string, Node[]>();
  constructor(readonly dir: string) {}

  private load(name: string): Node[] {
    let nodes = this.cache.get(name);
    if (!nodes) {
      nodes = parse(readFileSync(join(this.dir, `${name}.tmpl`), 'utf8'), name);
      this.cache.set(name, nodes);
    }
    return nodes;
  }

  render(name: string, view: unknown): string {
    const out: string[] = [];
    this.walk(this.load(name), [view], out, name);
    return out.join('');
  }

  private walk(nodes: Node[], stack: unknown[], out: string[], where: string): void {
    for (const n of nodes) {
      if (n.t === 'text') out.push(n.text);
      else if (n.t === 'partial') this.walk(this.load(n.name), stack, out, n.name);
      else if (n.t === 'var') {
        const v = lookup(stack, n.name);
        if (typeof v !== 'string' && typeof v !== 'number')
          throw new TemplateError(`${where}: {{${n.name}}} is ${v === undefined ? 'undefined' : typeof v}`);
        const s = String(v);
        if (!SAFE_VALUE.test(s))
          throw new TemplateError(`${where}: {{${n.name}}} is not a safe config token: ${JSON.stringify(s.slice(0, 40))}`);
        out.push(s);
      } else {
        const v = lookup(stack, n.name);
        const truthy = Array.isArray(v) ? v.length > 0 : Boolean(v);
        if (n.inverted) {
          if (!truthy) this.walk(n.children, stack, out, where);
        } else if (Array.isArray(v)) {
          for (const item of v) this.walk(n.children, [...stack, item], out, where);
        } else if (truthy) this.walk(n.children, [...stack, v], out, where);
      }
    }
  }
}
