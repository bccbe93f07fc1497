/** Small statistics helpers for the benchmarks: medians and extremes, printed with units. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export function summary(name: string, xs: readonly number[], unit: string, digits = 0): string {
  const f = (x: number): string => x.toFixed(digits);
  return `${name}: median ${f(median(xs))} ${unit}, min ${f(Math.min(...xs))}, max ${f(Math.max(...xs))} (n=${xs.length})`;
}

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
