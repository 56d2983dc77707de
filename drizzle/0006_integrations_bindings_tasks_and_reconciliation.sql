CREATE TABLE `drift_findings` (
	`key` text PRIMARY KEY NOT NULL,
	`vendor` text NOT NULL,
	`group_id` text NOT NULL,
	`kind` text NOT NULL,
	`person` text NOT NULL,
	`person_email` text,
	`exception_id` integer,
	`first_seen_at` text NOT NULL,
	`posted_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `exception_binding_people` (
	`id` integer PRIMARY KEY NOT NULL,
	`binding_id` integer NOT NULL,
	`slack_user_id` text,
	`vendor_user_id` text NOT NULL,
	`email` text,
	`display_name` text,
	FOREIGN KEY (`binding_id`) REFERENCES `exception_bindings`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `exception_binding_people_once_idx` ON `exception_binding_people` (`binding_id`,`vendor_user_id`);--> statement-breakpoint
CREATE TABLE `exception_bindings` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`vendor` text NOT NULL,
	`group_id` text NOT NULL,
	`group_name` text NOT NULL,
	`applied_state` text DEFAULT 'none' NOT NULL,
	`applied_at` text,
	`removed_at` text,
	`created_at` text NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "exception_bindings_vendor_check" CHECK("exception_bindings"."vendor" in ('okta', 'entra')),
	CONSTRAINT "exception_bindings_applied_state_check" CHECK("exception_bindings"."applied_state" in ('none', 'applied', 'removed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `exception_bindings_exception_idx` ON `exception_bindings` (`exception_id`);--> statement-breakpoint
CREATE INDEX `exception_bindings_group_idx` ON `exception_bindings` (`vendor`,`group_id`);--> statement-breakpoint
CREATE TABLE `exception_issues` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer NOT NULL,
	`vendor` text NOT NULL,
	`issue_key` text NOT NULL,
	`url` text NOT NULL,
	`created_by_app` integer NOT NULL,
	`linked_at` text NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "exception_issues_vendor_check" CHECK("exception_issues"."vendor" in ('jira'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `exception_issues_once_idx` ON `exception_issues` (`exception_id`,`vendor`);--> statement-breakpoint
CREATE TABLE `integration_cursor` (
	`vendor` text PRIMARY KEY NOT NULL,
	`last_event_id` integer DEFAULT 0 NOT NULL,
	`paused_until` text,
	`last_error` text
);
--> statement-breakpoint
CREATE TABLE `integration_tasks` (
	`id` integer PRIMARY KEY NOT NULL,
	`vendor` text NOT NULL,
	`exception_id` integer NOT NULL,
	`event_id` integer NOT NULL,
	`kind` text NOT NULL,
	`payload` text DEFAULT '{}' NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text NOT NULL,
	`last_error` text,
	`last_error_code` text,
	`reported_at` text,
	`created_at` text NOT NULL,
	`done_at` text,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "integration_tasks_kind_check" CHECK("integration_tasks"."kind" in ('sync_membership', 'link_issue', 'comment_issue', 'transition_issue')),
	CONSTRAINT "integration_tasks_state_check" CHECK("integration_tasks"."state" in ('pending', 'done'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `integration_tasks_once_idx` ON `integration_tasks` (`vendor`,`event_id`,`kind`);--> statement-breakpoint
CREATE INDEX `integration_tasks_due_idx` ON `integration_tasks` (`state`,`vendor`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `integration_tasks_exception_idx` ON `integration_tasks` (`exception_id`,`vendor`,`state`);--> statement-breakpoint
CREATE TABLE `reconciliation_runs` (
	`id` integer PRIMARY KEY NOT NULL,
	`vendor` text NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text,
	`groups_checked` integer DEFAULT 0 NOT NULL,
	`members_checked` integer DEFAULT 0 NOT NULL,
	`findings` integer DEFAULT 0 NOT NULL,
	`error` text
);
