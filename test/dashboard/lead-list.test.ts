// The task page's leads table: each filter shows exactly its leads and no others (never another
// task's), the badge names one state per lead, phone search ignores formatting, paging is by id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAD_FILTERS, listLeads, readLead, type LeadFilterState } from '../../server/dashboard/lead-list.ts';
import { readTaskRow } from '../../server/dashboard/task-list.ts';
import { readTaskProgress } from '../../server/read-model/task-progress.ts';
import { givenTask } from '../helpers/builders.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { arrangeLeads, CONVERSATION, TZ, type LeadArrangement } from './fixtures.ts';

let database: TestDatabase;
let taskId: number;
let otherTaskId: number;
const ids: Record<string, number> = {};

/** One lead per state, named after it; the other task holds a copy of each, which must never show. */
const LEADS: Record<string, LeadArrangement> = {
  notSynced: { phone: '+86 138-0013-8000', name: '张三' },
  notInGroup: { phone: '13900139000', name: '李四', state: { notInGroupSince: new Date(Date.now() - 3_600_000) } },
  calling: { phone: '0086 137 0013 7000', name: '王五', callJobId: 'job-c' },
  cancelled: { phone: '13600136000', name: '赵六', callJobId: 'job-x', state: { lastJobStatus: 'Cancelled' } },
  waiting: { phone: '13500135000', name: '钱七', callJobId: 'job-w', callStatus: 'Succeeded' },
  followed: { phone: '13400134000', name: '孙八', callJobId: 'job-f', callStatus: 'Succeeded', conversation: CONVERSATION, isInterested: 1, follow: { remark: '有意向，约试驾', nextFollowTime: '2026-01-06 15:00:00' }, state: { analysisStatus: 'ok' } },
  failedFollowed: { phone: '13300133000', name: '周九', callJobId: 'job-ff', callStatus: 'Failed', isInterested: 0, follow: { remark: '客户未接电话，未打通；' }, state: { jobFailureReason: 'NoAnswer' } },
  analysisFailed: { phone: '13200132000', name: '吴十', callJobId: 'job-af', callStatus: 'Succeeded', conversation: '{not json', isInterested: 0, follow: { remark: 'AI 分析失败' }, state: { analysisStatus: 'failed', analysisError: 'timeout' } },
  outside: { phone: '13100131000', name: '郑十一', callJobId: 'job-o', callStatus: 'Succeeded', conversation: CONVERSATION, isInterested: 2 },
  finalUnfollowed: { phone: '13000130000', name: '50%折扣', callJobId: 'job-fu', callStatus: 'Failed', state: { apiErrorCode: 'Throttling', apiErrorMessage: 'slow down', apiErrorAt: new Date() } },
};

const EXPECTED: Record<LeadFilterState, string[]> = {
  'not-synced': ['notSynced'],
  'not-in-group': ['notInGroup'],
  calling: ['calling', 'cancelled'],
  'waiting-conversation': ['waiting'],
  followed: ['followed', 'failedFollowed', 'analysisFailed'],
  'analysis-failed': ['analysisFailed'],
  'failed-call': ['failedFollowed', 'finalUnfollowed'],
  'handled-outside': ['outside'],
};

beforeAll(async () => {
  database = await createTestDatabase();
  const db = database.db;
  otherTaskId = await givenTask(db, { name: 'other', jobGroupId: 'g-other' });
  await arrangeLeads(db, otherTaskId, Object.values(LEADS).map((l) => ({ ...l, callJobId: l.callJobId ? `${l.callJobId}-other` : null })));
  taskId = await givenTask(db, { name: 'mine', jobGroupId: 'g-mine' });
  const rowIds = await arrangeLeads(db, taskId, Object.values(LEADS));
  Object.keys(LEADS).forEach((name, i) => (ids[name] = rowIds[i]!));
});
afterAll(async () => database?.drop());

const nameOf = (id: number) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? `foreign ${id}`;

describe('listLeads', () => {
  it.each(LEAD_FILTERS)('filter %s shows exactly its leads of this task', async (state) => {
    const { rows, hasNext } = await listLeads(database.db, taskId, { state, page: 1, pageSize: 50 });
    expect(rows.map((r) => nameOf(r.id))).toEqual(EXPECTED[state]);
    expect(hasNext).toBe(false);
  });

  it('counts on the task row agree with each filter and with readTaskProgress', async () => {
    const row = (await readTaskRow(database.db, taskId))!;
    const p = await readTaskProgress(database.db, taskId);
    expect(row.progress).toEqual(p);
    expect(row.progress.interested).toBe(1);
    const byFilter: Record<LeadFilterState, number> = {
      'not-synced': row.progress.notSynced, 'not-in-group': row.progress.notInJobGroup, calling: row.progress.calling,
      'waiting-conversation': row.progress.waitingForConversation, followed: row.progress.withFollow,
      'analysis-failed': row.progress.analysisFailed, 'failed-call': row.progress.failed, 'handled-outside': row.progress.handledOutside,
    };
    for (const state of LEAD_FILTERS) expect(byFilter[state], state).toBe(EXPECTED[state].length);
  });

  it('gives every lead exactly one state for its badge', async () => {
    const { rows } = await listLeads(database.db, taskId, { page: 1, pageSize: 50 });
    expect(Object.fromEntries(rows.map((r) => [nameOf(r.id), r.state]))).toEqual({
      notSynced: 'not-synced', notInGroup: 'not-in-group', calling: 'calling', cancelled: 'calling', waiting: 'waiting-conversation',
      followed: 'followed', failedFollowed: 'failed-call', analysisFailed: 'analysis-failed', outside: 'handled-outside',
      finalUnfollowed: 'final-unfollowed',
    });
  });

  it.each([
    ['13800138000', ['notSynced']],
    ['+86 138-0013-8000', ['notSynced']],
    ['138 0013 8000', ['notSynced']],
    ['+8613800138000', ['notSynced']],
    ['0086 13700137000', ['calling']],
    ['137-0013', ['calling']],
    ['+86 137', ['calling']],
    ['3000', ['failedFollowed', 'finalUnfollowed']],
    ['13800138001', []],
  ])('finds phone %s in any format', async (q, expected) => {
    const { rows } = await listLeads(database.db, taskId, { q, page: 1, pageSize: 50 });
    expect(rows.map((r) => nameOf(r.id))).toEqual(expected);
  });

  it('searches names by substring, taking % literally, combined with a filter', async () => {
    const search = async (q: string, state?: LeadFilterState) => (await listLeads(database.db, taskId, { q, state, page: 1, pageSize: 50 })).rows.map((r) => nameOf(r.id));
    expect(await search('十')).toEqual(['analysisFailed', 'outside']);
    expect(await search('十', 'handled-outside')).toEqual(['outside']);
    expect(await search('50%')).toEqual(['finalUnfollowed']);
    expect(await search('%')).toEqual(['finalUnfollowed']);
    expect(await search('_')).toEqual([]);
  });

  it('pages by id with hasNext from one extra row', async () => {
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push(await listLeads(database.db, taskId, { page, pageSize: 3 }));
    expect(pages.map((p) => [p.rows.length, p.hasNext])).toEqual([[3, true], [3, true], [3, true], [1, false]]);
    const all = pages.flatMap((p) => p.rows.map((r) => r.id));
    expect(all).toEqual(Object.values(ids).sort((a, b) => a - b));
    expect((await listLeads(database.db, taskId, { page: 5, pageSize: 3 })).rows).toEqual([]);
  });

  it('returns the raw phone, the follow record, the parsed conversation and the app states', async () => {
    const followed = (await readLead(database.db, taskId, ids.followed!, TZ))!;
    expect(followed).toMatchObject({
      phone: '13400134000', name: '孙八', callStatus: 'Succeeded', isInterested: 1, analysisStatus: 'ok', apiError: null,
      follow: { remark: '有意向，约试驾', nextFollowTime: '2026-01-06 15:00:00' },
      conversation: [
        { speaker: 'Robot', text: '您好，请问是张先生吗？', at: '2026-01-05 10:00:00' },
        { speaker: 'Contact', text: '明天下午三点可以试驾。', at: '2026-01-05 10:00:04' },
      ],
    });
    expect((await readLead(database.db, taskId, ids.analysisFailed!))!.conversation).toEqual([{ speaker: '', text: '{not json', at: null }]);
    const unfollowed = (await readLead(database.db, taskId, ids.finalUnfollowed!))!;
    expect(unfollowed).toMatchObject({ follow: null, conversation: null, apiError: { code: 'Throttling', message: 'slow down' } });
    expect(unfollowed.apiError!.at).toBeInstanceOf(Date);
    expect((await readLead(database.db, taskId, ids.notInGroup!))!.notInGroupSince).toBeInstanceOf(Date);
    expect((await readLead(database.db, taskId, ids.failedFollowed!))!.jobFailureReason).toBe('NoAnswer');
  });

  it("does not read another task's lead through this task", async () => {
    expect(await readLead(database.db, otherTaskId, ids.followed!)).toBeNull();
    expect((await listLeads(database.db, otherTaskId, { page: 1, pageSize: 50 })).rows.some((r) => Object.values(ids).includes(r.id))).toBe(false);
  });
});
