ALTER TABLE `af_task_activity` ADD `analyses` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `af_task_activity` ADD `input_tokens` bigint unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `af_task_activity` ADD `output_tokens` bigint unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
-- The tokens 0011 recorded per lead, counted into the hour of their analysis (analysed_at is UTC).
INSERT INTO `af_task_activity` (`task_id`, `hour`, `analyses`, `input_tokens`, `output_tokens`)
SELECT `task_id`, DATE_FORMAT(`analysed_at`, '%Y-%m-%d %H:00:00'), COUNT(*), SUM(`input_tokens`), SUM(COALESCE(`output_tokens`, 0))
FROM `af_lead_states`
WHERE `input_tokens` IS NOT NULL AND `analysed_at` IS NOT NULL
GROUP BY `task_id`, DATE_FORMAT(`analysed_at`, '%Y-%m-%d %H:00:00')
ON DUPLICATE KEY UPDATE `analyses` = `af_task_activity`.`analyses` + VALUES(`analyses`), `input_tokens` = `af_task_activity`.`input_tokens` + VALUES(`input_tokens`), `output_tokens` = `af_task_activity`.`output_tokens` + VALUES(`output_tokens`);
