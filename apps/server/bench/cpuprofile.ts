import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_ROOT } from './proc.ts';

/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): top functions by self and inclusive time and time per
 * package/file, optionally only for samples inside a window of process.hrtime (ns) — the load phase.
 * V8 profile timestamps are CLOCK_MONOTONIC microseconds, the same clock as process.hrtime on Linux.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  sampledMs: number;
  windowMs: number;
  selfTop: { fn: string; ms: number; pct: number }[];
  inclusiveTop: { fn: string; ms: number; pct: number }[];
  byArea: { area: string; ms: number; pct: number }[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 14);
  return path.startsWith('/') ? relative(REPO_ROOT, path) : path;
}

/** Which area a frame belongs to: an npm package, a workspace package/app dir, node internals or V8. */
function area(node: Node): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native/V8 builtin)';
  if (url.startsWith('node:')) return 'node: internals';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const rel = relative(REPO_ROOT, path);
  const parts = rel.split('/');
  // packages/core/src/messages/pipeline.ts → packages/core/src/messages
  return parts.length > 4 ? parts.slice(0, 4).join('/') : rel;
}

export function summarizeProfile(file: string, windowHr?: [bigint, bigint], top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: Node) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

  const from = windowHr ? Number(windowHr[0] / 1000n) : -Infinity;
  const to = windowHr ? Number(windowHr[1] / 1000n) : Infinity;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const areas = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t > to) continue;
    // Weight each sample by the interval to the next one (≈ sampling interval).
    const w = (p.timeDeltas[i + 1] ?? dt) / 1000;
    const leaf = byId.get(p.samples[i]!)!;
    total += w;
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + w);
    areas.set(area(leaf), (areas.get(area(leaf)) ?? 0) + w);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const k = key(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + w);
    }
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, ms]) => ({ fn, ms: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10 }));
  return {
    sampledMs: Math.round(total),
    windowMs: windowHr ? Math.round((to - from) / 1000) : Math.round((p.endTime - p.startTime) / 1000),
    selfTop: rank(self),
    inclusiveTop: rank(incl).filter((r) => !/^\((root|program)\)/.test(r.fn)),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([a, ms]) => ({ area: a, ms: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10 })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const pad = (x: number) => String(x).padStart(6);
  const lines = [`CPU profile: ${s.sampledMs} ms of samples in a ${s.windowMs} ms window (${Math.round((s.sampledMs / Math.max(1, s.windowMs)) * 100)}% of the window on the main thread, incl. idle)`];
  lines.push('', 'by area (self time):');
  for (const r of s.byArea) lines.push(`  ${pad(r.ms)} ms ${String(r.pct).padStart(5)}%  ${r.area}`);
  lines.push('', 'top functions, self time:');
  for (const r of s.selfTop) lines.push(`  ${pad(r.ms)} ms ${String(r.pct).padStart(5)}%  ${r.fn}`);
  lines.push('', 'top functions, inclusive time:');
  for (const r of s.inclusiveTop) lines.push(`  ${pad(r.ms)} ms ${String(r.pct).padStart(5)}%  ${r.fn}`);
  return lines.join('\n');
}
