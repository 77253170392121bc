// The CRM's business tables: only the columns autofollow reads or writes (reference/crm-schema.sql).
// Production tables may carry more columns; nothing here may drop or alter them.
// DATETIMEs are strings in the CRM's zone ("YYYY-MM-DD HH:mm:ss"); crm-time.ts converts.
import { datetime, index, int, longtext, mysqlTable, text, tinyint, varchar } from 'drizzle-orm/mysql-core';

export const callTasks = mysqlTable('call_tasks', {
  id: int('id', { unsigned: true }).autoincrement().primaryKey(),
  taskName: varchar('task_name', { length: 255 }).notNull(),
  /** 1 待开始 · 2 外呼开始 · 3 外呼完成 · 4 跟进完成 */
  taskType: tinyint('task_type').notNull().default(1),
  jobGroupId: varchar('job_group_id', { length: 64 }),
  createdTime: datetime('created_time', { mode: 'string' }),
  updatedTime: datetime('updated_time', { mode: 'string' }),
});

export const leadsTaskList = mysqlTable(
  'leads_task_list',
  {
    id: int('id', { unsigned: true }).autoincrement().primaryKey(),
    taskId: int('task_id', { unsigned: true }).notNull(),
    leadsId: int('leads_id', { unsigned: true }).notNull(),
    leadsName: varchar('leads_name', { length: 100 }),
    leadsPhone: varchar('leads_phone', { length: 32 }).notNull(),
    callJobId: varchar('call_job_id', { length: 64 }),
    callTaskId: varchar('call_task_id', { length: 64 }),
    /** Final job status only: Succeeded | Failed (DESIGN §3.1). */
    callStatus: varchar('call_status', { length: 32 }),
    callConversation: longtext('call_conversation'),
    callingNumber: varchar('calling_number', { length: 32 }),
    planedTime: datetime('planed_time', { mode: 'string' }), // CRM spelling
    leadsFollowId: int('leads_follow_id', { unsigned: true }),
    /** 0 无法判断 · 1 有意向 · 2 无意向 */
    isInterested: tinyint('is_interested'),
    createdTime: datetime('created_time', { mode: 'string' }),
    updatedTime: datetime('updated_time', { mode: 'string' }),
  },
  (t) => [index('idx_task').on(t.taskId)],
);

export const dccLeadsFollow = mysqlTable('dcc_leads_follow', {
  id: int('id', { unsigned: true }).autoincrement().primaryKey(),
  leadsId: int('leads_id', { unsigned: true }).notNull(),
  followTime: datetime('follow_time', { mode: 'string' }).notNull(),
  leadsRemark: text('leads_remark'),
  firstFollowTime: datetime('frist_follow_time', { mode: 'string' }), // CRM spelling
  newFollowTime: datetime('new_follow_time', { mode: 'string' }),
  nextFollowTime: datetime('next_follow_time', { mode: 'string' }),
});
