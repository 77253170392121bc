CREATE TABLE `af_api_tokens` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`name` varchar(64) NOT NULL,
	`role` varchar(16) NOT NULL,
	`token_hash` varchar(64) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`created_by` varchar(128) NOT NULL,
	`revoked_at` datetime(3),
	CONSTRAINT `af_api_tokens_id` PRIMARY KEY(`id`),
	CONSTRAINT `uq_af_api_tokens_name` UNIQUE(`name`),
	CONSTRAINT `uq_af_api_tokens_hash` UNIQUE(`token_hash`)
) DEFAULT CHARSET=utf8mb4;
--> statement-breakpoint
CREATE TABLE `af_login_failures` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`at` datetime(3) NOT NULL,
	`login` varchar(64) NOT NULL,
	`address` varchar(64) NOT NULL,
	CONSTRAINT `af_login_failures_id` PRIMARY KEY(`id`)
) DEFAULT CHARSET=utf8mb4;
--> statement-breakpoint
CREATE TABLE `af_operators` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`login` varchar(64) NOT NULL,
	`display_name` varchar(128) NOT NULL,
	`role` varchar(16) NOT NULL,
	`password_hash` varchar(255) NOT NULL,
	`disabled_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`last_login_at` datetime(3),
	CONSTRAINT `af_operators_id` PRIMARY KEY(`id`),
	CONSTRAINT `uq_af_operators_login` UNIQUE(`login`)
) DEFAULT CHARSET=utf8mb4;
--> statement-breakpoint
CREATE TABLE `af_sessions` (
	`id_hash` varchar(64) NOT NULL,
	`operator_id` int unsigned,
	`name` varchar(128) NOT NULL,
	`role` varchar(16) NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`last_seen_at` datetime(3) NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	`address` varchar(64) NOT NULL,
	`user_agent` varchar(255) NOT NULL,
	CONSTRAINT `af_sessions_id_hash` PRIMARY KEY(`id_hash`)
) DEFAULT CHARSET=utf8mb4;
--> statement-breakpoint
CREATE INDEX `idx_af_login_failures_login` ON `af_login_failures` (`login`,`at`);--> statement-breakpoint
CREATE INDEX `idx_af_login_failures_address` ON `af_login_failures` (`address`,`at`);--> statement-breakpoint
CREATE INDEX `idx_af_sessions_operator` ON `af_sessions` (`operator_id`);--> statement-breakpoint
CREATE INDEX `idx_af_sessions_expires` ON `af_sessions` (`expires_at`);