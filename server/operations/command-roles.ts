// The role each operator command needs (DESIGN §3.13, issue 8): one table, read by the operations
// (which refuse) and by the routes (which declare it, so the route table shows it and a test walks it).
import type { Role } from '../access/roles.ts';

export const COMMAND_ROLES = {
  // task commands
  process: 'operator',
  resync: 'operator',
  'retry-analysis': 'operator',
  pause: 'operator',
  resume: 'operator',
  'break-lease': 'admin',
  launch: 'operator', // 开始外呼 (issue 10)
  recall: 'operator', // 重新外呼 (DESIGN §3.12)
  // lead commands
  'reveal-phone': 'operator',
  'retry-lead-analysis': 'operator',
  'close-leads': 'operator', // 人工跟进 (DESIGN §3.12)
  // hot-lead deliveries and exports (issue 11)
  'resend-delivery': 'operator',
  export: 'viewer', // masked phones
  'export-full-phones': 'operator',
  // the scheduler
  'pause-scheduler': 'admin',
  'resume-scheduler': 'admin',
  'run-pass': 'admin',
  // accounts and tokens
  'operator-add': 'admin',
  'operator-list': 'admin',
  'operator-disable': 'admin',
  'operator-passwd': 'admin',
  'operator-end-sessions': 'admin',
  'token-add': 'admin',
  'token-list': 'admin',
  'token-revoke': 'admin',
} as const satisfies Record<string, Role>;

export type Command = keyof typeof COMMAND_ROLES;

export function roleFor(command: Command): Role {
  return COMMAND_ROLES[command];
}
