CREATE TABLE `assessments` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`round` integer DEFAULT 0 NOT NULL,
	`assessor_id` text NOT NULL,
	`likelihood` integer NOT NULL,
	`impact` integer NOT NULL,
	`score` integer NOT NULL,
	`rationale` text NOT NULL,
	`route` text NOT NULL,
	`route_reasons` text DEFAULT '' NOT NULL,
	`assessed_at` text NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "assessments_scale_check" CHECK("assessments"."likelihood" between 1 and 5 and "assessments"."impact" between 1 and 5),
	CONSTRAINT "assessments_route_check" CHECK("assessments"."route" in ('fast_path', 'committee'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `assessments_round_idx` ON `assessments` (`exception_id`,`round`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer,
	`actor_id` text NOT NULL,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`occurred_at` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_events_hash_unique` ON `audit_events` (`hash`);--> statement-breakpoint
CREATE INDEX `audit_events_exception_idx` ON `audit_events` (`exception_id`);--> statement-breakpoint
CREATE TABLE `decisions` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`round` integer DEFAULT 0 NOT NULL,
	`decider_id` text NOT NULL,
	`outcome` text NOT NULL,
	`comment` text,
	`decided_at` text NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "decisions_outcome_check" CHECK("decisions"."outcome" in ('approve', 'reject'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `decisions_one_per_person_idx` ON `decisions` (`exception_id`,`round`,`decider_id`);--> statement-breakpoint
CREATE TABLE `exceptions` (
	`id` integer PRIMARY KEY NOT NULL,
	`policy_id` integer NOT NULL,
	`title` text NOT NULL,
	`scope` text NOT NULL,
	`justification` text NOT NULL,
	`compensating_controls` text NOT NULL,
	`affected_systems` text,
	`external_ref` text,
	`requester_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`structural` integer DEFAULT false NOT NULL,
	`structural_reason` text,
	`requested_expires_on` text NOT NULL,
	`expires_on` text,
	`original_expires_on` text,
	`status` text NOT NULL,
	`route` text,
	`risk_score` integer,
	`origin_permalink` text,
	`submission_key` text,
	`triage_channel` text,
	`triage_ts` text,
	`approval_channel` text,
	`approval_ts` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`activated_at` text,
	`closed_at` text,
	FOREIGN KEY (`policy_id`) REFERENCES `policies`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "exceptions_status_check" CHECK("exceptions"."status" in ('requested', 'pending_approval', 'active', 'expired', 'rejected', 'closed', 'revoked')),
	CONSTRAINT "exceptions_route_check" CHECK("exceptions"."route" is null or "exceptions"."route" in ('fast_path', 'committee'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `exceptions_submission_key_unique` ON `exceptions` (`submission_key`);--> statement-breakpoint
CREATE INDEX `exceptions_status_idx` ON `exceptions` (`status`,`expires_on`);--> statement-breakpoint
CREATE INDEX `exceptions_requester_idx` ON `exceptions` (`requester_id`);--> statement-breakpoint
CREATE INDEX `exceptions_owner_idx` ON `exceptions` (`owner_id`);--> statement-breakpoint
CREATE INDEX `exceptions_policy_idx` ON `exceptions` (`policy_id`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`last_error` text,
	`created_at` text NOT NULL,
	`delivered_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "outbox_kind_check" CHECK("outbox"."kind" in ('post_card', 'refresh_card', 'direct_message')),
	CONSTRAINT "outbox_state_check" CHECK("outbox"."state" in ('pending', 'delivered', 'dead'))
);
--> statement-breakpoint
CREATE INDEX `outbox_pending_idx` ON `outbox` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `policies` (
	`id` integer PRIMARY KEY NOT NULL,
	`key` text NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policies_key_unique` ON `policies` (`key`);