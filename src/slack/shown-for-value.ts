import type { BlockButtonAction } from '@slack/bolt';
import { z } from 'zod';
import { OPEN_STAGES, type MessageLocation, type OpenStage, type ShownFor } from '../domain/shown-for';
import { currentRoundOf, type ExceptionRecord } from '../services/exception-record';

/** What a button value or a modal's private_metadata says it was shown for; Slack hands it back unchanged. */
const ShownForValue = z.object({
  exception: z.number().int().positive(),
  round: z.number().int().min(0),
  stage: z.enum(OPEN_STAGES),
  expiresOn: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});

/** The exception, its round and the stage shown; for a decision also the expiry the Approve confirmation names. */
export function shownForValue(record: ExceptionRecord, stage: OpenStage): string {
  return JSON.stringify({ exception: record.id, round: record.round, stage, ...(stage === 'decision' ? { expiresOn: currentRoundOf(record).expiresOn } : {}) });
}

/**
 * Reads a value back. A bare number is how values were written before they carried a round (cards already posted
 * in workspaces still have them): it names only the exception, and domain/shown-for decides whether it still fits.
 */
export function readShownFor(value: string | undefined, pressedOn?: MessageLocation): ShownFor | undefined {
  if (value === undefined) return undefined;
  if (/^\d{1,15}$/.test(value)) {
    const exceptionId = Number(value);
    return exceptionId > 0 ? { exceptionId, pressedOn } : undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = ShownForValue.safeParse(json);
  if (!parsed.success) return undefined;
  const { exception, round, stage, expiresOn } = parsed.data;
  return { exceptionId: exception, round, stage, expiresOn, pressedOn };
}

/** The message a button was pressed on; none for App Home or a modal. */
export function pressedOn(body: BlockButtonAction): MessageLocation | undefined {
  const ts = (body.message as { ts?: string } | undefined)?.ts;
  return body.channel?.id && ts ? { channel: body.channel.id, ts } : undefined;
}
