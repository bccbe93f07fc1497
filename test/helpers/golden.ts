/**
 * The golden cases in test/golden/: an input dir (optional), an env.json, and the expected frr.conf. env.json's
 * `__render` holds the renderer's options (facts about the FRR in use, e.g. `{"evpnGracefulRestart": true}` for
 * FRR 10.6 and later); without it the case renders as for FRR 8.4.4 and 10.3.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { HostFacts } from '../../src/config/facts.ts';
import type { RenderOptions } from '../../src/render/frr-conf.ts';

export const GOLDEN_DIR = fileURLToPath(new URL('../golden/', import.meta.url));

export interface GoldenCase {
  name: string;
  dir: string;
  configDir?: string;
  env: Record<string, string>;
  facts: HostFacts;
  expectedPath: string;
  render: RenderOptions;
}

export function goldenCases(): GoldenCase[] {
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(GOLDEN_DIR, d.name);
      const raw = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')) as Record<string, unknown>;
      // `__interfaceIPv4` stands in for the host's interfaces (the router-id fallback), so cases do not depend on this machine.
      const ifaces = (raw.__interfaceIPv4 ?? {}) as Record<string, string>;
      const env = Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('__'))) as Record<string, string>;
      const input = join(dir, 'input');
      return {
        name: d.name,
        dir,
        ...(existsSync(input) && { configDir: input }),
        env,
        facts: { env, interfaceIPv4: (name: string) => Promise.resolve(ifaces[name]) },
        expectedPath: join(dir, 'frr.conf'),
        render: raw.__render ?? {},
      };
    });
}
