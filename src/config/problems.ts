/**
 * A problem found in the input: one line for the operator, naming where it is (a file or an environment
 * variable), which field, and what is wrong and allowed.
 */
export interface Problem {
  severity: 'error' | 'warning';
  /** The file name (relative to the config dir) or environment variable the value came from. */
  source: string;
  /** The field path inside the source, e.g. `spec.neighbours[1]`; empty for whole-file problems. */
  path: string;
  message: string;
}

/**
 * Makes text safe for one log/terminal line: control characters (C0, DEL, C1), line and paragraph separators
 * and bidi controls are shown as escapes. Messages quote the input (keys, values, parser excerpts), and the
 * input must never be able to start a new line or drive a terminal.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `error: bgp-conf.yaml: spec.neighbours[1]: ...`, the format documented in docs/configuration.md (Errors); always one printable line. */
export function formatProblem(p: Problem): string {
  return [p.severity, p.source, p.path, p.message]
    .filter((s) => s !== '')
    .map(printable)
    .join(': ');
}

/** Collects problems for one source; `at(path)` makes a collector for a nested field. */
export class Reporter {
  constructor(
    readonly problems: Problem[],
    readonly source: string,
    readonly path = '',
  ) {}

  at(segment: string | number): Reporter {
    const path = typeof segment === 'number' ? `${this.path}[${segment}]` : this.path === '' ? segment : `${this.path}.${segment}`;
    return new Reporter(this.problems, this.source, path);
  }

  /** The same field, reported against another source (used by the Kube-OVN env mapping). */
  as(source: string, path = this.path): Reporter {
    return new Reporter(this.problems, source, path);
  }

  error(message: string): void {
    this.problems.push({ severity: 'error', source: this.source, path: this.path, message });
  }

  warn(message: string): void {
    this.problems.push({ severity: 'warning', source: this.source, path: this.path, message });
  }
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
