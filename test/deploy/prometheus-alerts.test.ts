// deploy/prometheus-alerts.yml: valid rule groups, the four alerts the README promises, and every
// metric they name is one the service serves, so a renamed metric cannot leave an alert that never fires.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { useTestDatabase } from '../helpers/database.ts';
import { REPO_ROOT } from '../helpers/run-cli.ts';
import { appOver } from '../helpers/web-app.ts';

interface Rule { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }

const database = useTestDatabase();
const rules = (parse(readFileSync(path.join(REPO_ROOT, 'deploy/prometheus-alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> })
  .groups.flatMap((group) => group.rules);
const byName = new Map(rules.map((rule) => [rule.alert, rule]));

/** The metrics GET /metrics of a real `serve` app describes (a # TYPE line each). */
async function servedMetrics(): Promise<Set<string>> {
  const app = await appOver(database);
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    return new Set([...(await response.text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  } finally {
    await app.close();
  }
}

describe('deploy/prometheus-alerts.yml', () => {
  it('has the four alerts, each with an expression, a duration, a severity and a summary', () => {
    expect([...byName.keys()].sort()).toEqual(['AutofollowDeadDeliveries', 'AutofollowLlmFailureRatio', 'AutofollowNoSuccessfulPass', 'AutofollowStuckLeadsRising']);
    for (const rule of rules) {
      expect(rule.expr, rule.alert).toMatch(/autofollow_/);
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
    }
  });

  it('alerts on what the README says: 30 min without a pass, stuck leads up on an hour ago, over 20% LLM failures for 15 min, a dead delivery for 10 min', () => {
    expect(byName.get('AutofollowNoSuccessfulPass')!.expr).toMatch(/time\(\) - max\(autofollow_last_successful_pass_timestamp_seconds\) > 1800/);
    expect(byName.get('AutofollowStuckLeadsRising')!.expr).toMatch(/autofollow_stuck_leads offset 1h/);
    const llm = byName.get('AutofollowLlmFailureRatio')!;
    expect(llm.expr).toMatch(/autofollow_llm_errors_total\[5m\]\)\)\s*\/ sum\(rate\(autofollow_llm_requests_total\[5m\]\)\) > 0\.2/);
    expect(llm.for).toBe('15m');
    const dead = byName.get('AutofollowDeadDeliveries')!;
    expect(dead.expr).toMatch(/autofollow_dead_deliveries\)\) > 0/);
    expect(dead.for).toBe('10m');
  });

  it('names only metrics that GET /metrics serves', async () => {
    const named = new Set(rules.flatMap((rule) => [...rule.expr.matchAll(/\bautofollow_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(named.size).toBeGreaterThanOrEqual(4);
    const served = await servedMetrics();
    expect([...named].filter((name) => !served.has(name))).toEqual([]);
  });
});
