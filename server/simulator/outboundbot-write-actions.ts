// The simulator's side of launching calls (reference §3.7 CreateJobGroup, §3.8 AssignJobs, §3.9
// ListJobGroups) and of the instance's script listing: the wire shapes autofollow's launch and
// re-call speak. Like the real service, nothing here is idempotent: a repeated AssignJobs adds the
// jobs again, which is what autofollow's reconciliation must guard against (reference §5.4).
import { ApiError, intParam, invalid, listParam, required, type Params } from './outboundbot-params.ts';
import { CALLING_NUMBERS, SCRIPTS, type JobGroup, type SimContact, type SimulatedJobs } from './simulated-jobs.ts';
import type { OutboundBotActions } from './outboundbot-actions.ts';

const ASSIGN_JOBS_MAX = 99;
const MAX_PAGE_SIZE = 100;

const business = (status: number, code: string, message: string) => new ApiError(status, code, message, 'business');

const FINAL = ['Succeeded', 'Failed', 'Cancelled'];

/** Ended by hand, or every job final: Completed, and it takes no more jobs. DescribeJobGroup agrees. */
export function groupStatus(state: SimulatedJobs, group: JobGroup): string {
  const jobs = state.listedJobs(group);
  if (group.ended || (jobs.length > 0 && jobs.every((j) => FINAL.includes(j.status)))) return 'Completed';
  return jobs.some((j) => j.status === 'Executing' || j.tasks.length > 0) ? 'Executing' : 'Scheduling';
}

function groupWire(state: SimulatedJobs, group: JobGroup) {
  const status = groupStatus(state, group);
  return {
    JobGroupId: group.jobGroupId, JobGroupName: group.name, JobGroupDescription: '', Status: status,
    CreationTime: group.creationTime, ModifyTime: String(group.creationTime), Priority: 'Daily', MinConcurrency: 0,
    RingingDuration: 25, ScenarioId: 'sim-scenario', ScriptName: SCRIPTS.find((s) => s.scriptId === group.scriptId)?.name ?? '',
    ScriptVersion: '1', CallingNumbers: group.callingNumbers, RecallCallingNumbers: [], JobDataParsingTaskId: '', JobFilePath: '',
    RecallStrategy: { EmptyNumberIgnore: false, InArrearsIgnore: false, OutOfServiceIgnore: false },
  };
}

function parseJob(raw: string, index: number): SimContact {
  let job: unknown;
  try {
    job = JSON.parse(raw);
  } catch {
    throw invalid(`JobsJson.${index}`, 'not a JSON object');
  }
  const contact = (job as { contacts?: Array<{ phoneNumber?: unknown; name?: unknown; referenceId?: unknown }> })?.contacts?.[0];
  if (!contact || typeof contact.phoneNumber !== 'string' || contact.phoneNumber === '') throw invalid(`JobsJson.${index}`, 'contacts[0].phoneNumber is required');
  return {
    phone: contact.phoneNumber,
    ...(typeof contact.name === 'string' ? { name: contact.name } : {}),
    ...(typeof contact.referenceId === 'string' ? { referenceId: contact.referenceId } : {}),
  };
}

export function createWriteActions({ state, requireInstance }: { state: SimulatedJobs; requireInstance: (p: Params) => void }): OutboundBotActions {
  return {
    CreateJobGroup(p) {
      requireInstance(p);
      const name = required(p, 'JobGroupName');
      const scriptId = p.ScriptId || SCRIPTS[0]!.scriptId;
      if (!SCRIPTS.some((s) => s.scriptId === scriptId)) throw business(404, 'ScriptNotFound', `The script ${scriptId} does not exist in this instance.`);
      const numbers = listParam(p, 'CallingNumber');
      const unknown = numbers.find((n) => !CALLING_NUMBERS.includes(n));
      if (unknown !== undefined) throw business(400, 'InvalidParameter.CallingNumber', `The calling number ${unknown} is not bound to this instance.`);
      if (p.StrategyJson) {
        try {
          JSON.parse(p.StrategyJson);
        } catch {
          throw invalid('StrategyJson', 'not JSON');
        }
      }
      const jobGroupId = state.createJobGroup({ name, scriptId, callingNumbers: numbers.length > 0 ? numbers : [...CALLING_NUMBERS] });
      return { JobGroup: groupWire(state, state.groups.get(jobGroupId)!) };
    },
    AssignJobs(p) {
      requireInstance(p);
      const id = required(p, 'JobGroupId');
      const group = state.groups.get(id);
      if (!group) throw business(404, 'JobGroupNotFound', `The job group ${id} does not exist.`);
      if (groupStatus(state, group) === 'Completed') throw business(400, 'JobGroupCompleted', `The job group ${id} has ended and takes no more jobs.`);
      const raw = listParam(p, 'JobsJson');
      if (raw.length === 0) throw new ApiError(400, 'MissingJobsJson', 'The input parameter "JobsJson" that is mandatory for processing this request is not supplied.', 'gateway');
      if (raw.length > ASSIGN_JOBS_MAX) throw invalid('JobsJson', `at most ${ASSIGN_JOBS_MAX} items, got ${raw.length}`);
      const contacts = raw.map((job, i) => parseJob(job, i + 1)); // all checked before any is created
      return { JobGroupId: id, JobsId: state.assignJobs(id, contacts) };
    },
    ListJobGroups(p) {
      requireInstance(p);
      const pageNumber = intParam(p, 'PageNumber', { required: true, min: 1 });
      const pageSize = intParam(p, 'PageSize', { required: true, min: 1, max: MAX_PAGE_SIZE });
      const search = p.SearchText ?? '';
      const all = [...state.groups.values()].filter((g) => search === '' || g.name.includes(search));
      return {
        AsyncTaskId: '',
        JobGroups: {
          PageNumber: pageNumber, PageSize: pageSize, TotalCount: all.length,
          List: all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((g) => ({
            JobGroupId: g.jobGroupId, JobGroupName: g.name, JobGroupDescription: '', Status: groupStatus(state, g),
            CreationTime: g.creationTime, ModifyTime: String(g.creationTime), ScriptId: g.scriptId, ScriptName: '', ScriptVersion: '1',
            MinConcurrency: 0, TotalCallNum: 0, JobDataParsingTaskId: '',
          })),
        },
      };
    },
    ListScripts(p) {
      requireInstance(p);
      const pageNumber = intParam(p, 'PageNumber', { min: 1 }) ?? 1;
      const pageSize = intParam(p, 'PageSize', { min: 1, max: MAX_PAGE_SIZE }) ?? 10;
      return {
        Scripts: {
          PageNumber: pageNumber, PageSize: pageSize, TotalCount: SCRIPTS.length,
          List: SCRIPTS.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((s) => ({
            ScriptId: s.scriptId, Name: s.name, ScriptDescription: '', Industry: 'automobile', Scene: 'invitation',
            Status: 'PUBLISHED', DebugStatus: 'PUBLISHED', IsDrafted: false, IsDebugDrafted: false, UpdateTime: 0,
          })),
        },
      };
    },
  };
}
