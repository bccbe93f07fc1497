/** Types of bin/probe.js (plain JavaScript: the exec probe's fast path loads nothing else). */
export declare const PROBE_HELP: string;
export declare function probe(argv: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string }>;
