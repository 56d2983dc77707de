CREATE TABLE `informal_asks` (
	`id` integer PRIMARY KEY NOT NULL,
	`channel` text NOT NULL,
	`thread_ts` text NOT NULL,
	`message_ts` text NOT NULL,
	`asked_by` text NOT NULL,
	`text` text NOT NULL,
	`answered_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `informal_asks_once_per_thread_idx` ON `informal_asks` (`channel`,`thread_ts`);--> statement-breakpoint
CREATE TABLE `metric_snapshots` (
	`id` integer PRIMARY KEY NOT NULL,
	`week` text NOT NULL,
	`active` integer NOT NULL,
	`over_one_eighty` integer NOT NULL,
	`figures` text NOT NULL,
	`taken_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `metric_snapshots_week_unique` ON `metric_snapshots` (`week`);--> statement-breakpoint
CREATE TABLE `webhook_cursor` (
	`id` integer PRIMARY KEY NOT NULL,
	`last_event_id` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text,
	`last_error` text
);
--> statement-breakpoint
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
	CONSTRAINT "outbox_kind_check" CHECK("__new_outbox"."kind" in ('post_card', 'refresh_card', 'direct_message', 'thread_reply', 'reminder_digest', 'expiry_digest', 'channel_post', 'checkin_question', 'informal_pointer')),
	CONSTRAINT "outbox_state_check" CHECK("__new_outbox"."state" in ('pending', 'delivered', 'dead'))
);
--> statement-breakpoint
INSERT INTO `__new_outbox`("id", "exception_id", "kind", "payload", "state", "attempts", "next_attempt_at", "claimed_until", "last_error", "created_at", "delivered_at") SELECT "id", "exception_id", "kind", "payload", "state", "attempts", "next_attempt_at", "claimed_until", "last_error", "created_at", "delivered_at" FROM `outbox`;--> statement-breakpoint
DROP TABLE `outbox`;--> statement-breakpoint
ALTER TABLE `__new_outbox` RENAME TO `outbox`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `outbox_pending_idx` ON `outbox` (`state`,`next_attempt_at`);