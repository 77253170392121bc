DROP INDEX `idx_af_lead_states_task` ON `af_lead_states`;--> statement-breakpoint
CREATE INDEX `idx_af_lead_states_task` ON `af_lead_states` (`task_id`,`not_in_group_since`,`analysis_status`);