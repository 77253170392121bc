// .env.example, README's configuration table and config.ts name the same variables with the same
// defaults, so a setting added to one of them and forgotten in another fails here. The README table
// is the reference: a new variable goes into it, into config.ts and into .env.example together.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/run-cli.ts';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** README "## Configuration": each row's variables (backticked names) paired with its defaults. */
function readmeTable(): Map<string, string | undefined> {
  const section = /\n## Configuration\n([\s\S]*?)\n## /.exec(read('README.md'))?.[1];
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const table = new Map<string, string | undefined>();
  for (const row of section.split('\n').filter((line) => /^\| `[A-Z]/.test(line))) {
    const [names, , defaults] = row.split('|').slice(1, -1);
    const variables = [...names!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!);
    const values = [...defaults!.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
    // "`HOST`, `PORT` | … | `127.0.0.1`, `3000`": defaults pair up with the names; "`LLM_API_KEY` (or `DASHSCOPE_API_KEY`)" has none.
    if (values.length > 0 && values.length !== variables.length) throw new Error(`README row "${row}" pairs ${variables.length} variables with ${values.length} defaults`);
    variables.forEach((name, i) => table.set(name, values[i]));
  }
  return table;
}

/** Lines `NAME=value` or `# NAME=value` (a default left commented out). */
function envExample(): Map<string, string> {
  const entries = [...read('.env.example').matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!] as const);
  const names = entries.map(([name]) => name);
  expect(names.filter((name, i) => names.indexOf(name) !== i), 'variables listed twice in .env.example').toEqual([]);
  return new Map(entries);
}

/** The variables config.ts reads: read('X') and optional('X'). */
function readByConfig(): string[] {
  return [...read('server/config.ts').matchAll(/\b(?:read|optional)\('([A-Z][A-Z0-9_]*)'\)/g)].map((m) => m[1]!);
}

describe('.env.example', () => {
  it('lists every variable of the README configuration table, and no other', () => {
    const table = readmeTable();
    expect(table.size).toBeGreaterThan(20);
    expect([...envExample().keys()].sort()).toEqual([...table.keys()].sort());
  });

  it('gives each variable the default the README states, and leaves the others empty', () => {
    const example = envExample();
    for (const [name, byReadme] of readmeTable()) expect(example.get(name), name).toBe(byReadme ?? '');
  });

  it('has a comment line above each group of variables', () => {
    const lines = read('.env.example').split('\n');
    lines.forEach((line, i) => {
      if (!/^(?:# )?[A-Z][A-Z0-9_]*=/.test(line)) return;
      let above = i - 1;
      while (above >= 0 && /^(?:# )?[A-Z][A-Z0-9_]*=/.test(lines[above]!)) above -= 1;
      expect(lines[above], `the comment above ${line}`).toMatch(/^# \S/);
    });
  });
});

describe('README configuration table', () => {
  it('names exactly the variables config.ts reads', () => {
    expect([...new Set(readByConfig())].sort()).toEqual([...readmeTable().keys()].sort());
  });
});
