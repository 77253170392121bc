-- The CRM's business tables, created only where absent (dev, demo, tests). An existing table,
-- with whatever extra columns the CRM gave it, is never altered (DESIGN §2).
CREATE TABLE IF NOT EXISTS call_tasks (
  id            INT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_name     VARCHAR(255) NOT NULL,
  task_type     TINYINT NOT NULL DEFAULT 1,
  job_group_id  VARCHAR(64) NULL,
  created_time  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_time  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS leads_task_list (
  id                INT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_id           INT UNSIGNED NOT NULL,
  leads_id          INT UNSIGNED NOT NULL,
  leads_name        VARCHAR(100) NULL,
  leads_phone       VARCHAR(32) NOT NULL,
  call_job_id       VARCHAR(64) NULL,
  call_task_id      VARCHAR(64) NULL,
  call_status       VARCHAR(32) NULL,
  call_conversation LONGTEXT NULL,
  calling_number    VARCHAR(32) NULL,
  planed_time       DATETIME NULL,
  leads_follow_id   INT UNSIGNED NULL,
  is_interested     TINYINT NULL,
  created_time      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_time      DATETIME NULL,
  PRIMARY KEY (id),
  KEY idx_task (task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS dcc_leads_follow (
  id                INT UNSIGNED NOT NULL AUTO_INCREMENT,
  leads_id          INT UNSIGNED NOT NULL,
  follow_time       DATETIME NOT NULL,
  leads_remark      TEXT NULL,
  frist_follow_time DATETIME NULL,
  new_follow_time   DATETIME NULL,
  next_follow_time  DATETIME NULL,
  PRIMARY KEY (id),
  KEY idx_leads (leads_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
