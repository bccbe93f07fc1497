/**
 * The external-router side of bench:observe: N BIRD 2 processes in the lab's rt namespace, one BGP session each
 * towards the gateway (10.0.1.13), each from its own address on rt's eth0 (10.0.1.1, .2, ... skipping .13) and with
 * that address as router id. One process per session because BIRD 2.0.12 locks a BGP session on (neighbor address,
 * port, interface): a second `protocol bgp` towards 10.0.1.13 in the same process stays Idle in state "start"
 * whatever its `local` address. Only the first process exports the 10 000 static blackhole /24s, so the gateway
 * receives 10 000 routes in total whatever N is; the others export nothing and import nothing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Lab } from '../lab/lab.ts';
import { spawnInNs } from './observe-child.ts';
import type { NsChild } from './observe-child.ts';

export const RT_AS = 65001;
export const GW_AS = 65002;

/** The first n router-side addresses in 10.0.1.0/24 (10.0.1.1 first), skipping the gateway's .13. */
export function routerAddresses(n: number): string[] {
  const out: string[] = [];
  for (let host = 1; out.length < n; host++) {
    if (host > 254) throw new Error(`at most 253 router addresses fit in 10.0.1.0/24 (asked for ${n})`);
    if (host !== 13) out.push(`10.0.1.${host}`);
  }
  return out;
}

/** n distinct /24s from 100.64.0.0/10 (never routed anywhere: blackholes inside the lab only). */
export function routePrefixes(n: number): string[] {
  if (n > 16384) throw new Error('at most 16384 /24s in 100.64.0.0/10');
  return Array.from({ length: n }, (_, i) => `100.${64 + (i >> 8)}.${i & 255}.0/24`);
}

export function birdConfig(opts: { gw: string; local: string; routes: number }): string {
  const lines = [
    'log stderr all;',
    `router id ${opts.local};`,
    'protocol device { scan time 10; }',
    ...(opts.routes > 0
      ? ['protocol static blackholes {', '  ipv4;', ...routePrefixes(opts.routes).map((p) => `  route ${p} blackhole;`), '}']
      : []),
    'protocol bgp togw {',
    `  local ${opts.local} as ${RT_AS};`,
    `  neighbor ${opts.gw} as ${GW_AS};`,
    // Listen on this process's own address only (the other BIRD processes listen on theirs).
    '  strict bind yes;',
    // Come up fast, and retry fast while the gateway's bgpd is not listening yet.
    '  connect delay time 1;',
    '  connect retry time 2;',
    '  error wait time 1, 10;',
    `  ipv4 { import none; export ${opts.routes > 0 ? 'where proto = "blackholes"' : 'none'}; };`,
    '}',
    '',
  ];
  return lines.join('\n');
}

export interface BirdSpeakers {
  readonly procs: readonly NsChild[];
  /** `birdc -s SOCK CMD` output of the i-th process. */
  birdc(i: number, cmd: string): Promise<string>;
  /** Stops every BIRD process by pid (in parallel). */
  stop(): Promise<void>;
}

/**
 * Adds the extra addresses to rt's eth0 (one `ip -batch`), then runs one `bird -f` per address in rt, each with its
 * own config, control socket and pid file under the lab's temp dir. The first process exports `routes` prefixes.
 */
export async function startBirds(lab: Lab, opts: { addresses: string[]; routes: number }): Promise<BirdSpeakers> {
  const extra = opts.addresses.filter((a) => a !== lab.addresses.rt.ipv4);
  if (extra.length > 0) {
    const batch = join(lab.tmpDir, 'rt-addresses.batch');
    await writeFile(batch, extra.map((a) => `addr add ${a}/${lab.addresses.ipv4PrefixLen} dev ${lab.rtIf}\n`).join(''));
    await execa('ip', ['-n', lab.rtNs, '-batch', batch], { stdin: 'ignore' });
  }
  const dir = join(lab.tmpDir, 'bird');
  await mkdir(dir, { recursive: true });
  const procs: NsChild[] = [];
  const socks: string[] = [];
  const speakers: BirdSpeakers = {
    procs,
    birdc: async (i, cmd) => String((await execa('birdc', ['-s', socks[i] ?? '', ...cmd.split(' ')], { stdin: 'ignore' })).stdout),
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
  try {
    for (const [i, local] of opts.addresses.entries()) {
      const conf = join(dir, `${i + 1}.conf`);
      const sock = join(dir, `${i + 1}.ctl`);
      await writeFile(conf, birdConfig({ gw: lab.addresses.gw.ipv4, local, routes: i === 0 ? opts.routes : 0 }));
      if (i === 0) {
        const check = await execa('bird', ['-p', '-c', conf], { reject: false, stdin: 'ignore' });
        if (check.exitCode !== 0) throw new Error(`bird -p -c ${conf}: ${String(check.stderr)}`);
      }
      socks.push(sock);
      procs.push(
        await spawnInNs(
          `bird ${local}`,
          lab.rtNs,
          ['bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, `${i + 1}.pid`)],
          join(dir, `${i + 1}.log`),
        ),
      );
    }
  } catch (e) {
    await speakers.stop();
    throw e;
  }
  return speakers;
}
