/**
 * The layers (README "Architecture"), read from the imports of every file:
 * the domain core depends on nothing of the sources, formats or front ends;
 * no source imports the other; the domain imports no format; src/ imports no
 * front end; React and Ink are loaded only by components/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return filesUnder(path);
    return /\.(ts|tsx)$/.test(d.name) && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Static, dynamic and re-export specifiers; comments are not code. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    out.push((m[1] ?? m[2] ?? m[3])!);
  }
  return out;
}

interface Edge {
  from: string;
  /** Repository path of a relative import, else the package name. */
  to: string;
}

const FILES = [...filesUnder('src'), ...filesUnder('components'), ...filesUnder('commands')];
const EDGES: Edge[] = FILES.flatMap((from) =>
  importsOf(from).map((spec) => ({
    from,
    to: spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(from), spec)).replace(/\.js$/, '') : spec,
  })),
);

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
const shown = (edges: Edge[]) => edges.map((e) => `${e.from} -> ${e.to}`);

describe('layers', () => {
  it('reads the imports of every file', () => {
    expect(FILES.length).toBeGreaterThan(100);
    // The reader itself: a known import of each kind is found.
    expect(EDGES).toContainEqual({ from: 'src/noetl/source.ts', to: 'src/noetl/api' });
    expect(EDGES).toContainEqual({ from: 'components/Table.tsx', to: 'ink' });
  });

  it('the domain core depends on no source, format or front end', () => {
    const bad = EDGES.filter((e) => under(e.from, 'src/core') && ['src/noetl', 'src/status-table', 'src/format', 'components', 'commands'].some((d) => under(e.to, d)));
    expect(shown(bad)).toEqual([]);
  });

  it('no source imports the other', () => {
    const bad = EDGES.filter((e) => (under(e.from, 'src/noetl') && under(e.to, 'src/status-table')) || (under(e.from, 'src/status-table') && under(e.to, 'src/noetl')));
    expect(shown(bad)).toEqual([]);
  });

  it('the domain (core, sources, the source contract) imports no format', () => {
    const domain = (f: string) => ['src/core', 'src/noetl', 'src/status-table'].some((d) => under(f, d)) || f === 'src/source.ts';
    const bad = EDGES.filter((e) => domain(e.from) && under(e.to, 'src/format'));
    expect(shown(bad)).toEqual([]);
  });

  it('src/ imports neither components/ nor commands/', () => {
    const bad = EDGES.filter((e) => under(e.from, 'src') && (under(e.to, 'components') || under(e.to, 'commands')));
    expect(shown(bad)).toEqual([]);
  });

  it('React and Ink only under components/', () => {
    const ui = (to: string) => to === 'react' || to.startsWith('react/') || to === 'ink' || to.startsWith('ink-') || to.startsWith('ink/');
    const bad = EDGES.filter((e) => ui(e.to) && !under(e.from, 'components'));
    expect(shown(bad)).toEqual([]);
  });
});
