#!/usr/bin/env node
// Entry point.
// `probe live|ready` (kubelet's exec probe, every probe period) takes a fast path first: bin/probe.js, node:net
// only, nothing else loaded.
// Everything else runs the compiled dist/ when it was built from the sources beside it, else the TypeScript
// sources through tsx, and says so on stderr when it passes over a stale dist/ (bin/build-stamp.js decides).
if (process.argv[2] === 'probe') {
  const { probe } = await import('./probe.js');
  const r = await probe(process.argv.slice(3), process.env);
  (r.code === 2 ? process.stderr : process.stdout).write(r.out);
  process.exitCode = r.code;
} else {
  const { chooseCode } = await import('./build-stamp.js');
  const root = new URL('..', import.meta.url);
  const choice = chooseCode(decodeURIComponent(root.pathname).replace(/\/$/, ''));
  // `run` logs it (supervisor_started, field `code`)
  globalThis.frrSupervisorCode = choice.why;
  if (choice.stale) process.stderr.write(`frr-supervisor: running ${choice.why}\n`);
  if (choice.code === 'dist') {
    await import(new URL('dist/cli/main.js', root).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('src/cli/main.ts', root).href);
  }
}
