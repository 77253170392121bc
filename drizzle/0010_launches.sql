CREATE TABLE `af_launches` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`task_id` int unsigned NOT NULL,
	`kind` varchar(16) NOT NULL,
	`status` varchar(16) NOT NULL,
	`job_group_name` varchar(160),
	`group_requested_at` datetime(3),
	`job_group_id` varchar(64),
	`script_id` varchar(64),
	`calling_numbers` text,
	`leads_to_call` int unsigned NOT NULL DEFAULT 0,
	`leads_found` int unsigned NOT NULL DEFAULT 0,
	`batches_sent` int unsigned NOT NULL DEFAULT 0,
	`jobs_created` int unsigned NOT NULL DEFAULT 0,
	`started_by` varchar(128) NOT NULL,
	`started_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	`error_code` varchar(128),
	`error_message` text,
	CONSTRAINT `af_launches_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `idx_af_launches_task` ON `af_launches` (`task_id`,`started_at`);