CREATE TABLE `amendments` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`round` integer NOT NULL,
	`requested_by` text NOT NULL,
	`reason` text NOT NULL,
	`scope` text NOT NULL,
	`affected_systems` text,
	`compensating_controls` text NOT NULL,
	`previous_scope` text NOT NULL,
	`previous_affected_systems` text,
	`previous_compensating_controls` text NOT NULL,
	`status` text NOT NULL,
	`route` text,
	`submission_key` text,
	`created_at` text NOT NULL,
	`decided_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "amendments_status_check" CHECK("amendments"."status" in ('requested', 'pending_approval', 'approved', 'rejected', 'withdrawn'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `amendments_submission_key_unique` ON `amendments` (`submission_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `amendments_round_idx` ON `amendments` (`exception_id`,`round`);--> statement-breakpoint
CREATE INDEX `amendments_status_idx` ON `amendments` (`status`);