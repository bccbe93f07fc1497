#!/usr/bin/env node
// Entry point. Runs the compiled code in dist/ when it exists (the container image), else the TypeScript
// sources through tsx (a development checkout).
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
