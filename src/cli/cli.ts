/** frr-supervisor's command line: dispatches to the subcommands. */
import { renderOrCheck } from './render-cmd.ts';
import { UsageError } from './usage.ts';

export interface Io {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
}

const COMMANDS = {
  run: 'run the sidecar: render FRR config, own zebra/staticd/bgpd, apply changes, serve probes and metrics',
  render: 'validate the input and print the frr.conf it renders',
  check: 'validate the input only; print ok or the problems',
  init: 'reconcile the EVPN devices once (for an init container)',
  status: "print a running supervisor's daemons, neighbours and VNIs as a table",
  probe: 'live|ready: exit 0 or 1 as /livez or /readyz answers (an exec probe for kubelet)',
  'kube-ovn-render': "print a Kube-OVN gateway's ConfigMap (+ Secret) for the supervisor, from kubectl output",
  'kube-ovn-sync': "keep every Kube-OVN gateway's ConfigMap (+ Secret) in step with its CRDs (in-cluster controller)",
  webhook: "serve the admission webhook that puts the supervisor into Kube-OVN's gateway Pods",
  plan: 'print what a config change would do (steps, restarts, live, traffic cost) before it is made',
} as const;

export const MAIN_HELP = `Usage: frr-supervisor <command> [options]

Renders, runs, supervises and observes FRR for Kube-OVN's VPC Egress Gateway (BGP, EVPN type-5).

Commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(15)} ${v}`)
  .join('\n')}

Run "frr-supervisor <command> --help" for a command's options.
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'render':
      case 'check':
        return await renderOrCheck(cmd, rest, io);
      case 'run': {
        const { runCommand } = await import('./run-cmd.ts');
        return await runCommand(rest, io);
      }
      case 'init': {
        const { initCommand } = await import('./init-cmd.ts');
        return await initCommand(rest, io);
      }
      case 'plan': {
        const { planCommand } = await import('./plan-cmd.ts');
        return await planCommand(rest, io);
      }
      case 'status': {
        const { statusCommand } = await import('./status-cmd.ts');
        return await statusCommand(rest, io);
      }
      case 'probe': {
        // bin/frr-supervisor.js runs bin/probe.js before loading any of this (kubelet calls it every period)
        const { probe } = await import('../../bin/probe.js');
        const r = await probe(rest, io.env);
        if (r.code === 2) io.stderr(r.out);
        else io.stdout(r.out);
        return r.code;
      }
      case 'kube-ovn-render': {
        const { kubeOvnRenderCommand } = await import('./kube-ovn-render-cmd.ts');
        return await kubeOvnRenderCommand(rest, io);
      }
      case 'kube-ovn-sync': {
        const { kubeOvnSyncCommand } = await import('./kube-ovn-sync-cmd.ts');
        return await kubeOvnSyncCommand(rest, io);
      }
      case 'webhook': {
        const { webhookCommand } = await import('./webhook-cmd.ts');
        return await webhookCommand(rest, io);
      }
      case '--help':
      case '-h':
      case 'help':
        io.stdout(MAIN_HELP);
        return 0;
      default:
        io.stderr(`error: ${cmd === undefined ? 'a command is required' : `unknown command ${JSON.stringify(cmd)}`}\n\n${MAIN_HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message} (see frr-supervisor ${cmd} --help)\n`);
      return 2;
    }
    throw e;
  }
}
