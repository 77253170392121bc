CREATE TABLE `af_job_group_listings` (
	`task_id` int unsigned NOT NULL,
	`job_group_id` varchar(64) NOT NULL,
	`total_count` int unsigned NOT NULL,
	`listed_at` datetime(3) NOT NULL,
	CONSTRAINT `af_job_group_listings_task_id` PRIMARY KEY(`task_id`)
);
--> statement-breakpoint
CREATE TABLE `af_superseded_jobs` (
	`lead_row_id` int unsigned NOT NULL,
	`job_id` varchar(64) NOT NULL,
	`task_id` int unsigned NOT NULL,
	`last_job_status` varchar(32),
	`superseded_by` varchar(64) NOT NULL,
	`superseded_at` datetime(3) NOT NULL,
	CONSTRAINT `af_superseded_jobs_lead_row_id_job_id_pk` PRIMARY KEY(`lead_row_id`,`job_id`)
);
--> statement-breakpoint
ALTER TABLE `af_lead_states` ADD `conversation_checked_at` datetime(3);--> statement-breakpoint
ALTER TABLE `af_lead_states` ADD `closed_by` varchar(128);--> statement-breakpoint
ALTER TABLE `af_lead_states` ADD `closed_cause` varchar(32);--> statement-breakpoint
ALTER TABLE `af_lead_states` ADD `closed_at` datetime(3);--> statement-breakpoint
ALTER TABLE `af_task_leases` ADD `last_checked_at` datetime(3);--> statement-breakpoint
CREATE INDEX `idx_af_superseded_task` ON `af_superseded_jobs` (`task_id`);