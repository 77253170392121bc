// Two servers of the same pages (bench/serve-pages.ts from two checkouts), each page asked of both in
// strict turns, request by request, who goes first alternating: this machine's speed drifts by a
// third from one minute to the next, so only figures taken in turns are compared.
// npx tsx bench/pages-in-turns.ts BEFORE_PORT AFTER_PORT /path ... (PAIRS=40)
import http from 'node:http';

const [beforePort, afterPort, ...paths] = process.argv.slice(2);
if (!beforePort || !afterPort || paths.length === 0) throw new Error('usage: pages-in-turns.ts BEFORE_PORT AFTER_PORT /path ...');
const pairs = Number(process.env.PAIRS ?? 40);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(port: string, path: string): Promise<{ ms: number; status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http.get({ host: '127.0.0.1', port: Number(port), path, agent, headers: { accept: 'text/html' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, bytes }));
    }).on('error', reject);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const path of paths) {
  for (let i = 0; i < 3; i++) await Promise.all([get(beforePort, path), get(afterPort, path)]); // warm both
  const times = { before: [] as number[], after: [] as number[] };
  const last = { before: { status: 0, bytes: 0 }, after: { status: 0, bytes: 0 } };
  for (let i = 0; i < pairs; i++) {
    for (const side of i % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const)) {
      const answer = await get(side === 'before' ? beforePort : afterPort, path);
      times[side].push(answer.ms);
      last[side] = answer;
    }
  }
  const perPair = median(times.after.map((ms, i) => ms / times.before[i]!));
  console.log(`${path}  before ${median(times.before).toFixed(1)} ms (${last.before.status}, ${last.before.bytes} B)  after ${median(times.after).toFixed(1)} ms (${last.after.status}, ${last.after.bytes} B)  per pair ${perPair.toFixed(3)}× (${pairs} pairs)`);
}
agent.destroy();
