import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Where a service's CPU went, from the V8 profiles `npm run bench -- --cpu-prof` writes:
 *   node scripts/bench/profile-summary.ts .infra/bench/prof-<timestamp> [top=15]
 * Prints, per profile, self time by package / source area and the hottest functions.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = resolve(import.meta.dirname, '../..');

/** Groups a script URL into an area: a package under node_modules, a workspace lib, node itself. */
function area(url: string): string {
  if (url === '') return '(native / gc / idle)';
  if (url.startsWith('node:')) return 'node core';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const rel = relative(ROOT, path);
  const m = /^(libs|services)\/([^/]+)\/src\/(.+)$/.exec(rel);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : rel;
}

export function summarize(file: string, top: number): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of p.samples.entries()) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  const sampled = [...self.values()].reduce((a, b) => a + b, 0);
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    byArea.set(area(url), (byArea.get(area(url)) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${area(url)}:${lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  }
  const idle = p.nodes
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((a, n) => a + (self.get(n.id) ?? 0), 0);
  // Shares of busy time: idle waiting on Redis or Kafka is reported once, not spread around.
  const total = Math.max(1, sampled - idle);
  const fmt = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, us]) =>
          `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s  ${k}`,
      )
      .join('\n');
  return [
    `${file}: ${(sampled / 1e6).toFixed(1)} s sampled, ${((100 * idle) / sampled).toFixed(0)} % idle, ${(total / 1e6).toFixed(1)} s busy`,
    'self time by area (% of busy):',
    fmt(byArea),
    'hottest functions (self time):',
    fmt(byFn),
  ].join('\n');
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/bench/profile-summary.ts <dir with .cpuprofile files> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 15);
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    console.log(`${summarize(join(dir, f), top)}\n`);
  }
}
