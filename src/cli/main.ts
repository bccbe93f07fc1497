/** The executable entry point (bin/frr-supervisor.js imports this). */
import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2), {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
