-- drizzle-kit generated this; the outbox rebuild is corrected by hand to select NULL for the new claimed_until column.
CREATE TABLE `checkins` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`asked_on` text NOT NULL,
	`asked_at` text NOT NULL,
	`answer` text,
	`answered_by` text,
	`answered_at` text,
	`overdue_reported_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "checkins_answer_check" CHECK("checkins"."answer" is null or "checkins"."answer" in ('yes', 'no'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `checkins_once_a_day_idx` ON `checkins` (`exception_id`,`asked_on`);--> statement-breakpoint
CREATE INDEX `checkins_open_idx` ON `checkins` (`answer`,`overdue_reported_at`);--> statement-breakpoint
CREATE TABLE `follow_ups` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`sent_at` text NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "follow_ups_kind_check" CHECK("follow_ups"."kind" in ('expiry_reminder', 'stall_nudge', 'stall_escalation'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `follow_ups_once_idx` ON `follow_ups` (`exception_id`,`kind`,`key`);--> statement-breakpoint
CREATE TABLE `job_runs` (
	`job` text PRIMARY KEY NOT NULL,
	`lease_until` text,
	`last_started_at` text,
	`last_finished_at` text,
	`last_as_of` text,
	`last_result` text,
	`last_error` text
);
--> statement-breakpoint
CREATE TABLE `renewals` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`round` integer NOT NULL,
	`requested_by` text NOT NULL,
	`progress` text NOT NULL,
	`percent_complete` integer NOT NULL,
	`evidence_url` text,
	`control_tested_on` text NOT NULL,
	`requested_expires_on` text NOT NULL,
	`status` text NOT NULL,
	`route` text,
	`new_expires_on` text,
	`submission_key` text,
	`created_at` text NOT NULL,
	`decided_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "renewals_status_check" CHECK("renewals"."status" in ('requested', 'pending_approval', 'approved', 'rejected', 'withdrawn')),
	CONSTRAINT "renewals_percent_check" CHECK("renewals"."percent_complete" between 0 and 100)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `renewals_submission_key_unique` ON `renewals` (`submission_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `renewals_round_idx` ON `renewals` (`exception_id`,`round`);--> statement-breakpoint
CREATE TABLE `reviews` (
	`id` integer PRIMARY KEY NOT NULL,
	`quarter` text NOT NULL,
	`posted_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reviews_quarter_unique` ON `reviews` (`quarter`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_outbox` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`claimed_until` text,
	`last_error` text,
	`created_at` text NOT NULL,
	`delivered_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "outbox_kind_check" CHECK("__new_outbox"."kind" in ('post_card', 'refresh_card', 'direct_message', 'thread_reply', 'reminder_digest', 'expiry_digest', 'channel_post', 'checkin_question')),
	CONSTRAINT "outbox_state_check" CHECK("__new_outbox"."state" in ('pending', 'delivered', 'dead'))
);
--> statement-breakpoint
INSERT INTO `__new_outbox`("id", "exception_id", "kind", "payload", "state", "attempts", "next_attempt_at", "claimed_until", "last_error", "created_at", "delivered_at") SELECT "id", "exception_id", "kind", "payload", "state", "attempts", "next_attempt_at", NULL, "last_error", "created_at", "delivered_at" FROM `outbox`;--> statement-breakpoint
DROP TABLE `outbox`;--> statement-breakpoint
ALTER TABLE `__new_outbox` RENAME TO `outbox`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `outbox_pending_idx` ON `outbox` (`state`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `exceptions` ADD `committee_ts` text;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `closing_note` text;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `current_round` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `renewal_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `last_checkin_on` text;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `attention_reason` text;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `last_reviewed_at` text;--> statement-breakpoint
ALTER TABLE `exceptions` ADD `last_reviewed_by` text;--> statement-breakpoint
ALTER TABLE `policies` ADD `max_days` integer;