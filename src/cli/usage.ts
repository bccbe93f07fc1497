/** Command-line parsing shared by the subcommands: node:util parseArgs, every flag also settable as FRR_SUPERVISOR_<NAME>. */
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string;
  help: string;
  /** Not settable through the environment (for example --help). */
  noEnv?: boolean;
}

export const envName = (flag: string): string => `FRR_SUPERVISOR_${flag.toUpperCase().replace(/-/g, '_')}`;

export function parseFlags<K extends string>(
  argv: string[],
  flags: Record<K, FlagSpec>,
  env: NodeJS.ProcessEnv,
): Record<K, string | boolean | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries<FlagSpec>(flags).map(([k, v]) => [k, { type: v.type }])),
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = {} as Record<K, string | boolean | undefined>;
  for (const [k, spec] of Object.entries<FlagSpec>(flags) as Array<[K, FlagSpec]>) {
    const given = parsed.values[k];
    const fromEnv = spec.noEnv ? undefined : env[envName(k)];
    let value: string | boolean | undefined = given;
    if (value === undefined && fromEnv !== undefined && fromEnv !== '') {
      if (spec.type === 'boolean') {
        if (fromEnv !== 'true' && fromEnv !== 'false') throw new UsageError(`${envName(k)} must be true or false`);
        value = fromEnv === 'true';
      } else value = fromEnv;
    }
    out[k] = value ?? spec.default;
  }
  return out;
}

export function helpText(usage: string, summary: string, flags: Record<string, FlagSpec>): string {
  const rows = Object.entries(flags).map(([k, v]) => {
    const left = `  --${k}${v.type === 'string' ? ' VALUE' : ''}`;
    const dflt = v.default !== undefined ? ` (default: ${v.default})` : '';
    const env = v.noEnv ? '' : ` [env ${envName(k)}]`;
    return `${left.padEnd(30)} ${v.help}${dflt}${env}`;
  });
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** Parses `500ms`, `5s`, `1m` (subset of Go durations) into milliseconds. */
export function parseMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m?.[1] || !m[2]) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a duration like 500ms, 5s or 1m`);
  const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60000);
  return Math.round(n);
}
