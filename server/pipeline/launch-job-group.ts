// The job group a launch or re-call assigns into (issue 10). CreateJobGroup is not idempotent
// (reference §5.4): the attempt's row names the group before the request is sent, and when an
// earlier attempt sent it without learning the answer, ListJobGroups finds that group by its name
// instead of creating a second one.
import type { Db } from '../db/client.ts';
import { BusinessError } from '../outboundbot/errors.ts';
import type { CallingWindow } from '../outboundbot/types.ts';
import type { PipelineDeps } from './deps.ts';
import { groupRequestsOf, updateLaunch, type LaunchRow } from './launches.ts';

export interface GroupSettings {
  scriptId: string | null;
  callingNumbers: string[];
  window: CallingWindow | null;
}

/** The group name's tail that identifies the attempt: the whole task for a launch, one attempt for a re-call's new group. */
export function jobGroupTag(row: Pick<LaunchRow, 'id' | 'taskId' | 'kind'>): string {
  return row.kind === 'launch' ? `[autofollow ${row.taskId}]` : `[autofollow ${row.taskId} recall ${row.id}]`;
}

export async function findOrCreateJobGroup(
  deps: Pick<PipelineDeps, 'db' | 'outboundbot' | 'clock'>,
  row: LaunchRow,
  taskName: string,
  settings: GroupSettings,
  onCreated: () => void,
): Promise<string> {
  if (row.jobGroupId) return row.jobGroupId;
  const tag = jobGroupTag(row);
  const name = `${taskName.slice(0, 100)} ${tag}`;
  const earlier = await groupRequestsOf(deps.db, row.taskId);
  if (earlier.some((r) => r.name.endsWith(tag))) {
    const found = await findByTag(deps, tag);
    if (found) return adopt(deps.db, row.id, found, deps.clock.now());
  }
  await updateLaunch(deps.db, row.id, { jobGroupName: name, groupRequestedAt: new Date(deps.clock.now()), updatedAt: new Date(deps.clock.now()) });
  try {
    const group = await deps.outboundbot.createJobGroup({ name, description: `autofollow task ${row.taskId}`, ...settings });
    onCreated();
    return adopt(deps.db, row.id, group.jobGroupId, deps.clock.now());
  } catch (error) {
    if (error instanceof BusinessError) throw error; // refused: nothing was created
    // The answer was lost: the group may exist. Look once; otherwise the next attempt looks again.
    const found = await findByTag(deps, tag).catch(() => null);
    if (found) return adopt(deps.db, row.id, found, deps.clock.now());
    throw error;
  }
}

async function findByTag(deps: Pick<PipelineDeps, 'outboundbot'>, tag: string): Promise<string | null> {
  const groups = await deps.outboundbot.findJobGroups(tag);
  const matching = groups.filter((g) => g.name.endsWith(tag));
  return matching[0]?.jobGroupId ?? null;
}

async function adopt(db: Db, launchId: number, jobGroupId: string, now: number): Promise<string> {
  await updateLaunch(db, launchId, { jobGroupId, updatedAt: new Date(now) });
  return jobGroupId;
}
