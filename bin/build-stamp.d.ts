/** Types of bin/build-stamp.js (plain JavaScript: bin/frr-supervisor.js loads it before any TypeScript loader). */
export declare const STAMP: string;
export declare function sourceDigest(root: string): string;
export declare function chooseCode(root: string): { code: 'dist' | 'src'; why: string; stale: boolean };
