CREATE TABLE `af_channel_leases` (
	`channel` varchar(16) NOT NULL,
	`owner` varchar(128),
	`expires_at` datetime(3),
	CONSTRAINT `af_channel_leases_channel` PRIMARY KEY(`channel`)
);
--> statement-breakpoint
CREATE TABLE `af_channel_sends` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`channel` varchar(16) NOT NULL,
	`sent_at` datetime(3) NOT NULL,
	CONSTRAINT `af_channel_sends_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `af_deliveries` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`hot_lead_id` bigint unsigned NOT NULL,
	`channel` varchar(16) NOT NULL,
	`state` varchar(8) NOT NULL,
	`attempts` int unsigned NOT NULL DEFAULT 0,
	`next_attempt_at` datetime(3) NOT NULL,
	`batch_id` varchar(36),
	`last_error` text,
	`created_at` datetime(3) NOT NULL,
	`sent_at` datetime(3),
	CONSTRAINT `af_deliveries_id` PRIMARY KEY(`id`),
	CONSTRAINT `uq_af_delivery` UNIQUE(`hot_lead_id`,`channel`)
);
--> statement-breakpoint
CREATE TABLE `af_hot_lead_events` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`event_id` varchar(36) NOT NULL,
	`task_id` int unsigned NOT NULL,
	`lead_row_id` int unsigned NOT NULL,
	`follow_id` int unsigned NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`fanned_out` tinyint NOT NULL DEFAULT 0,
	CONSTRAINT `af_hot_lead_events_id` PRIMARY KEY(`id`),
	CONSTRAINT `uq_af_hot_lead_event` UNIQUE(`event_id`)
);
--> statement-breakpoint
CREATE TABLE `af_task_activity` (
	`task_id` int unsigned NOT NULL,
	`hour` datetime NOT NULL,
	`calls_finished` int unsigned NOT NULL DEFAULT 0,
	`follows_written` int unsigned NOT NULL DEFAULT 0,
	CONSTRAINT `af_task_activity_task_id_hour_pk` PRIMARY KEY(`task_id`,`hour`)
);
--> statement-breakpoint
CREATE INDEX `idx_af_channel_sends` ON `af_channel_sends` (`channel`,`sent_at`);--> statement-breakpoint
CREATE INDEX `idx_af_delivery_due` ON `af_deliveries` (`channel`,`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `idx_af_delivery_recent` ON `af_deliveries` (`channel`,`id`);--> statement-breakpoint
CREATE INDEX `idx_af_hot_lead_fan_out` ON `af_hot_lead_events` (`fanned_out`,`id`);--> statement-breakpoint
CREATE INDEX `idx_af_task_activity_hour` ON `af_task_activity` (`hour`,`task_id`);