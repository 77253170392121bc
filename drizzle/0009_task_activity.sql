CREATE TABLE `af_task_activity` (
	`task_id` int unsigned NOT NULL,
	`hour` datetime NOT NULL,
	`calls_finished` int unsigned NOT NULL DEFAULT 0,
	`follows_written` int unsigned NOT NULL DEFAULT 0,
	CONSTRAINT `af_task_activity_task_id_hour_pk` PRIMARY KEY(`task_id`,`hour`)
);
--> statement-breakpoint
CREATE INDEX `idx_af_task_activity_hour` ON `af_task_activity` (`hour`,`task_id`);