/** `frr-supervisor status`: a human table of daemons, neighbours and VNIs from a running supervisor's /status. */
import { helpText, parseFlags, UsageError } from './usage.ts';
import type { FlagSpec } from './usage.ts';
import type { Io } from './cli.ts';
import { parseListen } from '../observe/http.ts';
import type { StatusDoc } from '../observe/status.ts';

const FLAGS = {
  url: { type: 'string', help: 'the supervisor to ask (default: http://127.0.0.1:PORT/status, PORT from --listen)' },
  listen: { type: 'string', default: '0.0.0.0:9180', help: "the supervisor's --listen, used to derive the default URL" },
  json: { type: 'boolean', help: 'print the raw /status JSON' },
  help: { type: 'boolean', help: 'show this help', noEnv: true },
} satisfies Record<string, FlagSpec>;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const dur = (s: number | undefined): string => {
  if (s === undefined) return '-';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s % 60}s` : `${s}s`;
};

export function formatStatus(doc: StatusDoc): string {
  const out: string[] = [];
  const sup = doc.supervisor;
  out.push(
    `supervisor pid ${sup.pid}, up ${dur(sup.uptimeSeconds)}; live: ${sup.live.ok ? 'yes' : 'NO'} (${sup.live.reason}); ready: ${sup.ready.ok ? 'yes' : 'NO'} (${sup.ready.reason})`,
  );
  const cfg = doc.config;
  const last = cfg.lastApply as { result?: string; at?: string; error?: string } | null;
  out.push(
    `config: ${cfg.valid ? 'valid' : 'INVALID'}; running generation ${cfg.running?.generation ?? '-'} (hash ${cfg.running?.hash ?? '-'}, applied ${cfg.running?.appliedAt ?? '-'}); last apply: ${last?.result ?? '-'}${last?.error ? `: ${last.error.split('\n')[0] ?? ''}` : ''}`,
  );
  for (const p of cfg.problems) out.push(`  ${p}`);
  // Older supervisors' documents have no `applying`.
  const step = (cfg as Partial<typeof cfg>).applying;
  if (step) out.push(`applying: step ${step.index}/${step.of} since ${step.since}: ${step.detail}`);
  const dp = doc.dataplane;
  if (dp) {
    const fwd = dp.forwarding;
    const on = (v: boolean | undefined): string => (v === undefined ? 'n/a' : v ? 'on' : 'OFF');
    out.push(
      `data plane: ${dp.ok ? 'ok' : 'FAILING'}${fwd ? `; forwarding in ${fwd.namespace}${fwd.owned ? ' (owned)' : ''}: IPv4 ${on(fwd.state.ipv4)}, IPv6 ${on(fwd.state.ipv6)}` : ''}`,
    );
    for (const f of dp.failedSteps ?? []) out.push(`  failed: ${f.argv.join(' ')} (${f.why}): ${f.error}`);
    if (dp.error && !dp.failedSteps) out.push(`  ${dp.error}`);
    for (const p of fwd?.problems ?? []) out.push(`  ${p}`);
  }
  out.push(
    '',
    table([
      ['DAEMON', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'LAST EXIT'],
      ...(
        doc.daemons as Array<{ name: string; running: boolean; pid?: number; uptimeSeconds?: number; restarts: number; lastExit?: string }>
      ).map((d) => [d.name, d.running ? 'up' : 'DOWN', String(d.pid ?? '-'), dur(d.uptimeSeconds), String(d.restarts), d.lastExit ?? '-']),
    ]),
  );
  out.push(
    '',
    table([
      ['NEIGHBOUR', 'VRF', 'STATE', 'UPTIME', 'AFI', 'PFX RCVD', 'PFX SENT', 'LAST RESET'],
      ...doc.neighbours.flatMap((n) =>
        Object.entries(n.afis).map(([afi, c], i) =>
          i === 0
            ? [
                n.peer,
                n.vrf,
                n.state,
                dur(n.uptimeSeconds),
                afi,
                String(c.prefixesReceived),
                String(c.prefixesSent),
                n.lastResetReason ?? '-',
              ]
            : ['', '', '', '', afi, String(c.prefixesReceived), String(c.prefixesSent), ''],
        ),
      ),
    ]),
  );
  const bfd = doc.neighbours.filter((n) => n.bfd);
  if (bfd.length > 0) {
    out.push(
      '',
      table([
        ['NEIGHBOUR', 'BFD', 'UPTIME', 'HOPS', 'TX MS', 'RX MS', 'DETECT MS', 'DIAGNOSTIC'],
        ...bfd.map((n) => {
          const b = n.bfd!;
          const neg = b.negotiated;
          return [
            n.peer,
            b.up ? 'up' : b.status.toUpperCase(),
            b.up ? dur(b.uptimeSeconds) : '-',
            b.multihop ? 'multi' : 'single',
            neg ? String(neg.transmitMs) : '-',
            neg ? String(neg.receiveMs) : '-',
            neg ? String(neg.detectTimeMs) : '-',
            b.diagnostic || '-',
          ];
        }),
      ]),
    );
  }
  if (doc.evpn.length > 0) {
    out.push(
      '',
      table([
        ['VNI', 'TYPE', 'VRF', 'STATE', 'ROUTER MAC', 'VXLAN IF', 'REMOTE VTEPS', 'TYPE-5 ROUTES'],
        ...doc.evpn.map((v) => [
          String(v.vni),
          v.type,
          v.vrf,
          v.state ?? '-',
          v.routerMac ?? '-',
          v.vxlanIf ?? '-',
          v.remoteVteps.join(',') || '-',
          String(v.prefixRoutes ?? '-'),
        ]),
      ]),
    );
  }
  return `${out.join('\n')}\n`;
}

export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const flags = parseFlags(argv, FLAGS, io.env);
  if (flags.help) {
    io.stdout(
      helpText(
        'frr-supervisor status [--url URL] [--json]',
        'Prints daemons, neighbours and EVPN VNIs as a table, from a running supervisor. Exit 0: the supervisor is ready; 1: it answered but is not ready (or not live); 3: it could not be reached.',
        FLAGS,
      ),
    );
    return 0;
  }
  let url = flags.url as string | undefined;
  if (!url) {
    let port: number;
    try {
      port = parseListen(flags.listen as string).port;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    url = `http://127.0.0.1:${port}/status`;
  }
  let doc: StatusDoc;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as StatusDoc;
  } catch (e) {
    io.stderr(`error: ${url}: ${(e as Error).message}\n`);
    return 3;
  }
  io.stdout(flags.json ? `${JSON.stringify(doc, null, 2)}\n` : formatStatus(doc));
  return doc.supervisor.live.ok && doc.supervisor.ready.ok ? 0 : 1;
}
