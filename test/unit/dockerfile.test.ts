// The Dockerfile, checked without a container engine: its stages and base images, that everything it copies
// exists and passes .dockerignore, that the runtime stage installs what the test lab installs, process 1 and
// the entrypoint, and finally the runtime tree it describes, laid out from this checkout and run.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { RUN_FLAGS } from '../../src/cli/run-cmd.ts';
import { parseListen } from '../../src/observe/http.ts';
import { aptInstalls, dockerignored, execForm, parseCopy, parseDockerfile, workdirAt } from '../helpers/dockerfile.ts';
import type { Copy, Stage } from '../helpers/dockerfile.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(join(REPO, p), 'utf8');
const dockerfileText = read('Dockerfile');
const df = parseDockerfile(dockerfileText);
const ignore = read('.dockerignore').split('\n');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  bin: Record<string, string>;
  scripts: Record<string, string>;
  type: string;
};
const buildTsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string } };

/** What the runtime image installs beyond scripts/install-deps.sh: Node.js (Debian's) and process 1. */
const EXTRA_RUNTIME_PACKAGES = ['nodejs', 'tini'];
/**
 * FRR 10.7.1 is Debian forky's frr on the trixie base: frr and the libraries it needs newer than trixie has come from
 * forky (named `PACKAGE/forky`), as in the lab's FRR 10.7 image (lab/frr107-image/Containerfile).
 */
const FORKY_PACKAGES = ['frr', 'libyang5', 'liblua5.5-0', 'libpcre2-8-0'];
const FRR107_CONTAINERFILE = 'lab/frr107-image/Containerfile';
/** A package as installed, without its `/release`. */
const bare = (p: string): string => p.replace(/\/.*$/, '');
/**
 * What scripts/install-deps.sh installs for the tests only (Prometheus, promtool, the exporter compared with;
 * openssl for the webhook's certificates; iptables for the BFD test's link cut, procps for pgrep): never in the image.
 */
const TEST_ONLY_PACKAGES = ['prometheus', 'prometheus-frr-exporter', 'openssl', 'iptables', 'procps'];
/** The build stage: Debian's Node.js and npm, nothing else. */
const BUILD_PACKAGES = ['nodejs', 'npm'];
/** Both stages start from Debian trixie slim (Node.js 20 is trixie's; FRR 10.7.1 is forky's, pinned: below). */
const BASE_IMAGE = 'debian:trixie-slim';

function stageNamed(name: string): Stage {
  const s = df.stages.find((x) => x.name === name);
  assert.ok(s, `the Dockerfile has a stage named ${name}`);
  return s;
}
const runs = (s: Stage): string[] => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const copies = (s: Stage): Array<Copy & { workdir: string }> =>
  s.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => ({ ...parseCopy(i), workdir: workdirAt(s, i) }));
const absDest = (c: { dest: string; workdir: string }, source: string): string => {
  const dest = c.dest.startsWith('/') ? c.dest : posix.join(c.workdir, c.dest);
  return c.dest.endsWith('/') && !source.endsWith('/') ? posix.join(dest, posix.basename(source)) : dest.replace(/\/$/, '');
};
const nodeMajor = Number(/(\d+)/.exec(pkg.engines.node)?.[1]);

describe('Dockerfile: stages and base images', () => {
  it('has two stages, build then runtime, and the runtime stage is the image', () => {
    assert.deepEqual(
      df.stages.map((s) => s.name),
      ['build', 'runtime'],
    );
  });

  it('builds and runs on debian:trixie-slim, whose nodejs package has the Node major of package.json engines', () => {
    assert.equal(nodeMajor, 20, 'Debian trixie ships Node.js 20 (20.19.2), which package.json engines allows');
    assert.equal(stageNamed('build').image, BASE_IMAGE);
    assert.equal(stageNamed('runtime').image, BASE_IMAGE);
  });

  it('pins every base image by tag (or digest), never latest', () => {
    for (const s of df.stages) {
      const m = /^[^:@]+(?::([^@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(s.image);
      assert.ok(m, `${s.image} is an image reference`);
      assert.ok(m[1] || s.image.includes('@sha256:'), `${s.image} is pinned by tag or digest`);
      assert.notEqual(m[1], 'latest');
    }
  });

  it('build stage: npm ci, then the build, then npm prune --omit=dev', () => {
    const cmds = runs(stageNamed('build')).join(' && ');
    const at = (re: RegExp): number => {
      const i = cmds.search(re);
      assert.ok(i >= 0, `the build stage runs ${re}`);
      return i;
    };
    const ci = at(/\bnpm ci\b/);
    const build = at(/\bnpm run build\b/);
    const prune = at(/\bnpm prune --omit=dev\b/);
    assert.ok(ci < build && build < prune, 'npm ci, npm run build, npm prune --omit=dev in this order');
    assert.match(pkg.scripts.build ?? '', /tsconfig\.build\.json/, 'npm run build compiles with tsconfig.build.json');
  });

  it('has no HEALTHCHECK (kubelet probes the container)', () => {
    assert.deepEqual(
      df.instructions.filter((i) => i.keyword === 'HEALTHCHECK'),
      [],
    );
  });
});

describe('Dockerfile: copied files', () => {
  it('every file copied from the build context exists and is not excluded by .dockerignore', () => {
    let n = 0;
    for (const s of df.stages) {
      for (const c of copies(s)) {
        if (c.from !== undefined) continue;
        for (const src of c.sources) {
          n++;
          assert.ok(existsSync(join(REPO, src)), `line ${c.line}: COPY ${src}: no such file in the repository`);
          assert.equal(dockerignored(ignore, src), false, `line ${c.line}: COPY ${src}: .dockerignore excludes it from the build context`);
          const full = join(REPO, src);
          if (src.endsWith('/')) {
            for (const f of readdirSync(full, { recursive: true, withFileTypes: true })) {
              if (!f.isFile()) continue;
              const rel = posix.join(src, join(f.parentPath, f.name).slice(full.length).split('\\').join('/'));
              assert.equal(dockerignored(ignore, rel), false, `COPY ${src}: .dockerignore excludes ${rel}`);
            }
          }
        }
      }
    }
    assert.ok(n >= 6, 'the Dockerfile copies the sources from the context');
  });

  it('.dockerignore keeps host artifacts out of the context', () => {
    for (const p of [
      'node_modules/tsx/package.json',
      'dist/cli/main.js',
      '.git/HEAD',
      'test/unit/dockerfile.test.ts',
      '.lab/x',
      'npm-debug.log',
    ]) {
      assert.equal(dockerignored(ignore, p), true, `.dockerignore lets ${p} into the build context`);
    }
  });

  it('every file copied from the build stage is produced there (copied in, npm ci, or the build output)', () => {
    const build = stageNamed('build');
    const produced = new Map<string, string>();
    for (const c of copies(build)) for (const src of c.sources) produced.set(absDest(c, src), `copied from the context (${src})`);
    const buildCwd = workdirAt(
      build,
      build.instructions.find((i) => i.keyword === 'RUN' && /npm ci/.test(i.args)) ?? build.instructions[0]!,
    );
    produced.set(posix.join(buildCwd, 'node_modules'), 'npm ci (pruned to production dependencies)');
    produced.set(posix.join(buildCwd, buildTsconfig.compilerOptions.outDir), 'npm run build (tsconfig.build.json outDir)');
    let n = 0;
    for (const c of copies(stageNamed('runtime'))) {
      if (c.from === undefined) continue;
      assert.equal(c.from, 'build', `line ${c.line}: copies come from the build stage`);
      for (const src of c.sources) {
        n++;
        assert.ok(
          produced.has(src.replace(/\/$/, '')),
          `line ${c.line}: ${src} is produced in the build stage (known: ${[...produced.keys()].join(', ')})`,
        );
      }
    }
    assert.equal(n, 3, 'package.json, node_modules/ and dist/ come from the build stage');
  });

  it('the runtime tree keeps dist/ and frr-templates/ side by side, with bin/ and package.json, at one app root', () => {
    const rt = stageNamed('runtime');
    const dests = new Map<string, string>();
    for (const c of copies(rt)) for (const src of c.sources) dests.set(posix.basename(src.replace(/\/$/, '')), absDest(c, src));
    const root = dirname(dests.get('dist') ?? '');
    assert.equal(root, '/app');
    // src/render/frr-conf.ts: TEMPLATE_DIR = new URL('../../frr-templates/', import.meta.url) from dist/render/.
    assert.equal(dests.get('frr-templates'), posix.join(root, 'frr-templates'));
    // bin/frr-supervisor.js runs ../dist/cli/main.js; package.json says "type": "module" for bin/.
    assert.equal(dests.get('bin'), posix.join(root, 'bin'));
    assert.equal(dests.get('package.json'), posix.join(root, 'package.json'));
    assert.equal(dests.get('node_modules'), posix.join(root, 'node_modules'));
    assert.equal(pkg.type, 'module');
  });
});

describe('Dockerfile: runtime packages, process 1 and entrypoint', () => {
  const labInstalls = aptInstalls(read('scripts/install-deps.sh'));
  const imageInstalls = runs(stageNamed('runtime')).flatMap(aptInstalls);

  it("installs exactly the apt packages of scripts/install-deps.sh (but its test tools), plus nodejs and tini (and the libraries forky's frr needs); the build stage nodejs and npm", () => {
    const runtime = labInstalls.filter((i) => !i.packages.every((p) => TEST_ONLY_PACKAGES.includes(p)));
    assert.equal(runtime.length, 1, 'scripts/install-deps.sh has one apt-get install of what the gateway runs');
    assert.deepEqual(
      labInstalls
        .filter((i) => !runtime.includes(i))
        .flatMap((i) => i.packages)
        .sort(),
      [...TEST_ONLY_PACKAGES].sort(),
      'and one of the test tools',
    );
    assert.equal(imageInstalls.length, 1, 'the runtime stage has one apt-get install');
    const lab = runtime[0]!;
    const image = imageInstalls[0]!;
    assert.ok(lab.packages.includes('frr'));
    for (const p of TEST_ONLY_PACKAGES) assert.ok(!image.packages.map(bare).includes(p), `the image has no ${p}`);
    assert.deepEqual(
      [...new Set(image.packages.map(bare))].sort(),
      [...new Set([...lab.packages, ...EXTRA_RUNTIME_PACKAGES, ...FORKY_PACKAGES])].sort(),
    );
    for (const opt of ['-y', '--no-install-recommends'])
      assert.ok(image.options.includes(opt) && lab.options.includes(opt), `both use ${opt}`);
    const build = runs(stageNamed('build')).flatMap(aptInstalls);
    assert.equal(build.length, 1, 'the build stage has one apt-get install');
    assert.deepEqual([...build[0]!.packages].sort(), BUILD_PACKAGES);
    assert.ok(build[0]!.options.includes('--no-install-recommends'));
  });

  it("FRR 10.7.1 from Debian forky on trixie, pinned: only what is named /forky comes from forky (frr and its newer libraries, as lab/frr107-image has them), from the base's own Debian mirror", () => {
    const image = imageInstalls[0]!;
    const forky = image.packages.filter((p) => p.endsWith('/forky'));
    assert.deepEqual(forky.map(bare), FORKY_PACKAGES, 'frr and its libraries from forky');
    assert.deepEqual(
      image.packages.filter((p) => p.includes('/') && !p.endsWith('/forky')),
      [],
      'no other release named',
    );
    const labForky = aptInstalls(read(FRR107_CONTAINERFILE)).flatMap((i) => i.packages.filter((p) => p.endsWith('/forky')));
    assert.deepEqual(forky, labForky, `the same forky packages as ${FRR107_CONTAINERFILE} (the lab's FRR 10.7)`);
    assert.ok(image.options.includes('-t trixie'), "trixie is the target release: everything not named /forky is trixie's");
    const run = runs(stageNamed('runtime')).find((r) => /apt-get install/.test(r)) ?? '';
    // forky's source: the base's Debian source (/etc/apt/sources.list.d/debian.sources) with its suite changed.
    assert.match(run, /\/etc\/apt\/sources\.list\.d\/debian\.sources\s*\\?\s*\|\s*sed -e 's\/\^Suites:\.\*\/Suites: forky\/'/);
    assert.match(run, />\s*\/etc\/apt\/sources\.list\.d\/forky\.sources/);
    assert.match(run, /Check-Valid-Until: no/, "a frozen mirror's forky Release file may be past its Valid-Until date");
    // Pinned low: forky's packages only when named (apt's default priority is 500; 100 is what installed ones get).
    assert.match(run, /printf 'Package: \*\\nPin: release n=forky\\nPin-Priority: 100\\n' >\/etc\/apt\/preferences\.d\/forky/);
    // No third-party source: no URL, no key, no download tool in any RUN.
    for (const r of df.stages.flatMap(runs)) {
      assert.doesNotMatch(r, /https?:\/\//, 'no apt source URL of its own');
      assert.doesNotMatch(r, /\b(?:curl|wget|gpg|apt-key)\b|signed-by=|\.gpg\b/i, 'no download tool, no key');
    }
  });

  it('cleans the apt lists in the same layer', () => {
    for (const stage of ['build', 'runtime']) {
      const run = runs(stageNamed(stage)).find((r) => /apt-get install/.test(r)) ?? '';
      assert.match(run, /apt-get update/, stage);
      assert.match(run, /rm -rf \/var\/lib\/apt\/lists\/\*/, stage);
    }
  });

  it('npm ci can use a CA bundle passed as a build secret (builds behind a TLS-intercepting proxy), and works without it', () => {
    const run = runs(stageNamed('build')).find((r) => /\bnpm ci\b/.test(r)) ?? '';
    assert.match(run, /^--mount=type=secret,id=ca-certificates,target=(\S+)/);
    assert.match(run, /if \[ -s \S+ \]; then export npm_config_cafile=\S+; fi/);
  });

  it('process 1 is tini (reaps zombies, forwards signals to the supervisor only), then `frr-supervisor run`', () => {
    const rt = stageNamed('runtime');
    const entry = rt.instructions.filter((i) => i.keyword === 'ENTRYPOINT');
    assert.equal(entry.length, 1);
    const argv = execForm(entry[0]!.args);
    assert.deepEqual(
      argv,
      ['/usr/bin/tini', '--', 'frr-supervisor', 'run'],
      'exec form, no shell in between, no -g (the supervisor stops FRR in order)',
    );
    assert.ok(imageInstalls[0]?.packages.includes('tini'));
    const stop = rt.instructions.find((i) => i.keyword === 'STOPSIGNAL');
    assert.ok(!stop || stop.args === 'SIGTERM', 'the stop signal is SIGTERM (the supervisor drains on it)');
  });

  it('CMD passes the config dir, and the frr-supervisor command is the package bin on PATH', () => {
    const rt = stageNamed('runtime');
    const cmd = execForm(rt.instructions.find((i) => i.keyword === 'CMD')?.args ?? '');
    assert.deepEqual(cmd, ['--config-dir', '/etc/frr-supervisor']);
    assert.ok(RUN_FLAGS['config-dir'], 'run has --config-dir');
    const link = runs(rt).join('\n');
    assert.ok(pkg.bin['frr-supervisor'], 'package.json has the frr-supervisor bin');
    assert.ok(
      link.includes(`ln -s /app/${pkg.bin['frr-supervisor']} /usr/local/bin/frr-supervisor`),
      'the bin is linked into /usr/local/bin',
    );
    assert.match(link, /frr-supervisor run --help/, 'the build runs a smoke test of the installed command');
  });

  it('exposes the HTTP port of the --listen default', () => {
    const { port } = parseListen(RUN_FLAGS.listen.default);
    const exposed = stageNamed('runtime')
      .instructions.filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/));
    assert.deepEqual(exposed, [String(port)]);
  });

  it('documents the capabilities the container needs', () => {
    for (const cap of ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE', 'SYS_ADMIN'])
      assert.match(dockerfileText, new RegExp(`#.*\\b${cap}\\b`), `${cap} is documented`);
  });
});

describe('Dockerfile: the runtime tree, laid out from this checkout', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'frrsup-image-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it(
    'the production tree (dist/, production node_modules, bin/, frr-templates/) renders the docs example',
    { timeout: 120_000 },
    async () => {
      const app = join(tmp, 'app');
      mkdirSync(app);
      // Each runtime COPY, from this checkout: the build output, `npm prune --omit=dev`'s node_modules, the context.
      const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
      for (const c of copies(stageNamed('runtime'))) {
        for (const src of c.sources) {
          const name = posix.basename(src.replace(/\/$/, ''));
          const dest = join(app, posix.relative('/app', absDest(c, src)));
          if (name === 'dist') {
            await execa(
              process.execPath,
              [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', dest],
              { cwd: REPO },
            );
          } else if (name === 'node_modules') {
            // Production dependencies only: the lockfile marks dev-only packages with "dev": true.
            for (const [path, info] of Object.entries(lock.packages)) {
              if (!/^node_modules\/(?:@[^/]+\/)?[^/@]+$/.test(path) || info.dev) continue;
              const target = join(dest, path.slice('node_modules/'.length));
              mkdirSync(dirname(target), { recursive: true });
              symlinkSync(join(REPO, path), target, 'dir');
            }
            assert.equal(existsSync(join(dest, 'tsx')), false, 'tsx (a devDependency) is not in the runtime tree');
          } else {
            cpSync(join(REPO, name), dest, { recursive: true });
          }
        }
      }
      const bin = join(app, pkg.bin['frr-supervisor'] ?? '');
      const help = await execa(process.execPath, [bin, 'run', '--help'], { reject: false });
      assert.equal(help.exitCode, 0, help.stderr);
      assert.match(help.stdout, /--config-dir/);
      // kube-ovn-sync loads @kubernetes/client-node: a production dependency, present in the pruned tree
      const syncHelp = await execa(process.execPath, [bin, 'kube-ovn-sync', '--help'], { reject: false });
      assert.equal(syncHelp.exitCode, 0, syncHelp.stderr);
      assert.match(syncHelp.stdout, /--namespaces/);
      const golden = join(REPO, 'test/golden/docs-evpn');
      const env = JSON.parse(readFileSync(join(golden, 'env.json'), 'utf8')) as Record<string, string>;
      const render = await execa(process.execPath, [bin, 'render', '--config-dir', join(golden, 'input')], {
        reject: false,
        env,
        extendEnv: false,
        cwd: tmp,
      });
      assert.equal(render.exitCode, 0, render.stderr);
      assert.equal(
        render.stdout.trim(),
        readFileSync(join(golden, 'frr.conf'), 'utf8').trim(),
        'the image renders what the golden test expects',
      );
    },
  );
});
