// CRM tables as production may have them: the reference columns plus columns of the CRM's own,
// with defaults, extra indexes, and a row each that must come through untouched.
export const CRM_WITH_EXTRAS = [
  `CREATE TABLE call_tasks (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT, task_name VARCHAR(255) NOT NULL, task_type TINYINT NOT NULL DEFAULT 1,
     job_group_id VARCHAR(64) NULL, created_time DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
     updated_time DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
     owner_sales_id INT NOT NULL DEFAULT 7, channel VARCHAR(20) NOT NULL DEFAULT 'dcc', PRIMARY KEY (id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE leads_task_list (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT, task_id INT UNSIGNED NOT NULL, leads_id INT UNSIGNED NOT NULL,
     leads_name VARCHAR(100) NULL, leads_phone VARCHAR(32) NOT NULL, call_job_id VARCHAR(64) NULL, call_task_id VARCHAR(64) NULL,
     call_status VARCHAR(32) NULL, call_conversation LONGTEXT NULL, calling_number VARCHAR(32) NULL, planed_time DATETIME NULL,
     leads_follow_id INT UNSIGNED NULL, is_interested TINYINT NULL, created_time DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
     updated_time DATETIME NULL, dealer_code VARCHAR(16) NOT NULL DEFAULT 'SH01', remark_by_sales TEXT NULL,
     PRIMARY KEY (id), KEY idx_task (task_id), KEY idx_job_lookup (call_job_id, task_id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE dcc_leads_follow (
     id INT UNSIGNED NOT NULL AUTO_INCREMENT, leads_id INT UNSIGNED NOT NULL, follow_time DATETIME NOT NULL,
     leads_remark TEXT NULL, frist_follow_time DATETIME NULL, new_follow_time DATETIME NULL, next_follow_time DATETIME NULL,
     follow_type TINYINT NOT NULL DEFAULT 3, PRIMARY KEY (id), KEY idx_leads (leads_id)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `INSERT INTO call_tasks (task_name, task_type, job_group_id, owner_sales_id) VALUES ('existing', 2, 'jg-1', 42)`,
  `INSERT INTO leads_task_list (task_id, leads_id, leads_phone, dealer_code, remark_by_sales) VALUES (1, 5, '13800000001', 'BJ02', '老客户')`,
];
