#!/usr/bin/env node
// Entry point.
// `probe live|ready` (kubelet's exec probe, every probe period) takes a fast path first: bin/probe.js, node:net
// only, nothing else loaded.
// Everything else runs the compiled dist/ when it was built from the sources beside it, else the TypeScript
// sources through tsx (bin/build-stamp.js decides); `run` says which.
if (process.argv[2] === 'probe') {
  const { probe } = await import('./probe.js');
  const r = await probe(process.argv.slice(3), process.env);
  (r.code === 2 ? process.stderr : process.stdout).write(r.out);
  process.exitCode = r.code;
} else {
  const { chooseCode } = await import('./build-stamp.js');
  const root = new URL('..', import.meta.url);
  const choice = chooseCode(decodeURIComponent(root.pathname).replace(/\/$/, ''));
  // `run` logs it (supervisor_started, field `code`) and, over a stale dist/, says so on stderr first; the one-shot
  // commands (render, check, kube-ovn-render, ...) keep their stderr for their own output: running the sources
  // instead of a stale build changes only how fast they start
  globalThis.frrSupervisorCode = choice.why;
  if (choice.stale && process.argv[2] === 'run') process.stderr.write(`frr-supervisor: running ${choice.why}\n`);
  if (choice.code === 'dist') {
    await import(new URL('dist/cli/main.js', root).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('src/cli/main.ts', root).href);
  }
}
