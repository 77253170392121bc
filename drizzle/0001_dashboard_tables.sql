CREATE TABLE `af_audit_log` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`at` datetime(3) NOT NULL,
	`actor` varchar(128) NOT NULL,
	`action` varchar(48) NOT NULL,
	`task_id` int unsigned,
	`lead_row_id` int unsigned,
	`outcome` varchar(16) NOT NULL,
	`detail` text,
	CONSTRAINT `af_audit_log_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `af_processes` (
	`owner` varchar(128) NOT NULL,
	`started_at` datetime(3) NOT NULL,
	`heartbeat_at` datetime(3) NOT NULL,
	`last_pass_started_at` datetime(3),
	`last_pass_finished_at` datetime(3),
	`last_pass_ms` int unsigned,
	`last_pass_processed` int unsigned,
	`last_pass_error` text,
	`next_pass_at` datetime(3),
	CONSTRAINT `af_processes_owner` PRIMARY KEY(`owner`)
);
--> statement-breakpoint
CREATE TABLE `af_settings` (
	`name` varchar(64) NOT NULL,
	`value` text NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`updated_by` varchar(128) NOT NULL,
	CONSTRAINT `af_settings_name` PRIMARY KEY(`name`)
);
--> statement-breakpoint
CREATE TABLE `af_task_pauses` (
	`task_id` int unsigned NOT NULL,
	`paused_at` datetime(3) NOT NULL,
	`paused_by` varchar(128) NOT NULL,
	CONSTRAINT `af_task_pauses_task_id` PRIMARY KEY(`task_id`)
);
--> statement-breakpoint
CREATE INDEX `idx_af_audit_task` ON `af_audit_log` (`task_id`,`at`);--> statement-breakpoint
CREATE INDEX `idx_af_audit_at` ON `af_audit_log` (`at`);