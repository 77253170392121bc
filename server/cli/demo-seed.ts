// The demo's CRM data: a few call tasks as the CRM would leave them after assigning calls, with job
// groups in the simulator. Only ever written to the demo's own database (DESIGN §5).
import type { Db } from '../db/client.ts';
import { writeResult } from '../db/client.ts';
import { callTasks, leadsTaskList } from '../db/schema/crm.ts';
import type { OutboundBotSimulator } from '../simulator/outboundbot.ts';

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = ['伟', '芳', '娜', '敏', '静', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超', '霞', '平', '刚'];

export interface DemoTask {
  id: number;
  name: string;
  leads: number;
}

interface TaskPlan {
  name: string;
  taskType: number;
  leads: number;
  /** Leads the CRM has but never assigned to the job group: shown as "not in job group". */
  unassigned?: number;
  /** Leads a salesperson already rated before the robot called. */
  handledOutside?: number;
  /** Jobs an operator cancelled in the Outbound Bot console: /stuck offers 人工跟进 for them. */
  cancelled?: number;
  /** One customer the CRM holds twice (two channels, two leads_id) with one job for the phone. */
  sharedPhone?: boolean;
}

const PLANS: TaskPlan[] = [
  { name: '十二月新车试驾邀约', taskType: 2, leads: 40 },
  { name: '老客户置换回访', taskType: 2, leads: 24, unassigned: 2, handledOutside: 1, cancelled: 2, sharedPhone: true },
  { name: '展厅到店邀约（待分配外呼）', taskType: 1, leads: 8 },
];

export async function seedDemo(db: Db, sim: OutboundBotSimulator): Promise<DemoTask[]> {
  const tasks: DemoTask[] = [];
  let serial = 0;
  for (const plan of PLANS) {
    const calling = plan.taskType >= 2;
    const group = calling ? sim.createJobGroup(plan.name) : null;
    const taskId = writeResult(await db.insert(callTasks).values({ taskName: plan.name, taskType: plan.taskType, jobGroupId: group })).insertId;
    const people = Array.from({ length: plan.leads }, () => person(serial++));
    await db.insert(leadsTaskList).values(
      people.map((p, i) => ({
        taskId,
        leadsId: 50_000 + p.serial,
        leadsName: p.name,
        leadsPhone: p.crmPhone,
        isInterested: i < (plan.handledOutside ?? 0) ? 1 : null,
      })),
    );
    let rows = plan.leads;
    if (plan.sharedPhone) {
      // The last assigned customer again, from another channel: same phone, typed differently.
      const twin = people[plan.leads - (plan.unassigned ?? 0) - 1]!;
      await db.insert(leadsTaskList).values({ taskId, leadsId: 90_000 + twin.serial, leadsName: `${twin.name}（线上）`, leadsPhone: twin.apiPhone });
      rows += 1;
    }
    if (group) {
      const jobIds = sim.assignJobs(group, people.slice(0, plan.leads - (plan.unassigned ?? 0)).map((p) => ({ phone: p.apiPhone, name: p.name })));
      // Cancelled from the middle of the list, so they are not the ones handled outside.
      for (const jobId of jobIds.slice(2, 2 + (plan.cancelled ?? 0))) sim.cancelJob(jobId);
    }
    tasks.push({ id: taskId, name: plan.name, leads: rows });
  }
  return tasks;
}

/** A made-up customer; the CRM's phone formats vary the way people type them. */
function person(serial: number) {
  const digits = `139${String(20_000_000 + serial * 7919).slice(-8)}`;
  const formats = [digits, `+86 ${digits.slice(0, 3)}-${digits.slice(3, 7)}-${digits.slice(7)}`, `${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`, `+86${digits}`];
  const name = `${SURNAMES[serial % SURNAMES.length]}${GIVEN[(serial * 7) % GIVEN.length]}`;
  return { serial, name, apiPhone: digits, crmPhone: formats[serial % formats.length]! };
}
