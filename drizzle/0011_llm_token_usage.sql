ALTER TABLE `af_lead_states` ADD `input_tokens` int unsigned;--> statement-breakpoint
ALTER TABLE `af_lead_states` ADD `output_tokens` int unsigned;