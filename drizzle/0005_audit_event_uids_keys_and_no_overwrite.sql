-- drizzle-kit generated ALTER TABLE ADD `uid` text NOT NULL, which SQLite refuses on a table with rows; the table is
-- rebuilt by hand instead. An existing event's uid is a UUID (version 8) made from its hash, so every copy of a register
-- gives an event the same uid (src/db/audit-chain.ts, legacyEventUid, makes the same one). The rebuild drops the
-- triggers, which come back below with a third: REPLACE deletes a conflicting row without firing DELETE triggers
-- (unless recursive_triggers is on), so an insert may only append, with the next id and a hash and uid of its own.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_audit_events` (
	`id` integer PRIMARY KEY NOT NULL,
	`exception_id` integer,
	`actor_id` text NOT NULL,
	`kind` text NOT NULL,
	`payload` text NOT NULL,
	`occurred_at` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL,
	`uid` text NOT NULL,
	`keyed` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`exception_id`) REFERENCES `exceptions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
INSERT INTO `__new_audit_events`("id", "exception_id", "actor_id", "kind", "payload", "occurred_at", "prev_hash", "hash", "uid", "keyed")
SELECT "id", "exception_id", "actor_id", "kind", "payload", "occurred_at", "prev_hash", "hash",
	substr("hash", 1, 8) || '-' || substr("hash", 9, 4) || '-8' || substr("hash", 14, 3) || '-'
		|| substr('89ab', (instr('0123456789abcdef', substr("hash", 17, 1)) - 1) % 4 + 1, 1) || substr("hash", 18, 3) || '-' || substr("hash", 21, 12),
	false
FROM `audit_events`;--> statement-breakpoint
DROP TABLE `audit_events`;--> statement-breakpoint
ALTER TABLE `__new_audit_events` RENAME TO `audit_events`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_events_hash_unique` ON `audit_events` (`hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `audit_events_uid_unique` ON `audit_events` (`uid`);--> statement-breakpoint
CREATE INDEX `audit_events_exception_idx` ON `audit_events` (`exception_id`);--> statement-breakpoint
CREATE TRIGGER `audit_events_no_update` BEFORE UPDATE ON `audit_events`
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_events_no_delete` BEFORE DELETE ON `audit_events`
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be deleted');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_events_append_only` BEFORE INSERT ON `audit_events`
WHEN NEW.`id` IS NOT (SELECT coalesce(max(`id`), 0) + 1 FROM `audit_events`)
	OR EXISTS (SELECT 1 FROM `audit_events` WHERE `hash` = NEW.`hash` OR `uid` = NEW.`uid`)
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only: an event takes the next id and a hash and uid of its own, and never replaces one');
END;
