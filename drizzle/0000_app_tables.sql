CREATE TABLE `af_lead_states` (
	`lead_row_id` int unsigned NOT NULL,
	`task_id` int unsigned NOT NULL,
	`last_job_status` varchar(32),
	`job_failure_reason` varchar(64),
	`last_task_status` varchar(64),
	`analysis_status` varchar(16),
	`analysis_error` text,
	`analysed_at` datetime(3),
	`not_in_group_since` datetime(3),
	`api_error_code` varchar(128),
	`api_error_message` text,
	`api_error_at` datetime(3),
	CONSTRAINT `af_lead_states_lead_row_id` PRIMARY KEY(`lead_row_id`)
);
--> statement-breakpoint
CREATE TABLE `af_task_leases` (
	`task_id` int unsigned NOT NULL,
	`owner` varchar(128),
	`acquired_at` datetime(3),
	`renewed_at` datetime(3),
	`expires_at` datetime(3),
	CONSTRAINT `af_task_leases_task_id` PRIMARY KEY(`task_id`)
);
--> statement-breakpoint
CREATE TABLE `af_task_runs` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`task_id` int unsigned NOT NULL,
	`owner` varchar(128) NOT NULL,
	`trigger` varchar(32) NOT NULL,
	`started_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	`outcome` varchar(16) NOT NULL,
	`stage_before` tinyint NOT NULL,
	`stage_after` tinyint,
	`steps` text,
	`error_code` varchar(128),
	`error_message` text,
	CONSTRAINT `af_task_runs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `idx_af_lead_states_task` ON `af_lead_states` (`task_id`);--> statement-breakpoint
CREATE INDEX `idx_af_runs_task` ON `af_task_runs` (`task_id`,`started_at`);