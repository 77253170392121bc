ALTER TABLE `af_lead_states` ADD `has_conversation` boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `idx_af_lead_states_conversation` ON `af_lead_states` (`task_id`,`has_conversation`);--> statement-breakpoint
-- Leads whose conversation was written before the column existed (writeCallResults sets it from now on).
INSERT INTO `af_lead_states` (`lead_row_id`, `task_id`, `has_conversation`)
SELECT `id`, `task_id`, 1 FROM `leads_task_list` WHERE `call_conversation` IS NOT NULL AND `call_conversation` <> ''
ON DUPLICATE KEY UPDATE `has_conversation` = 1;
