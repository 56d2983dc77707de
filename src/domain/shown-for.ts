import { DomainError } from './errors';

/** What waits on people in a round: its risk assessment, then its decision. */
export const OPEN_STAGES = ['assessment', 'decision'] as const;
export type OpenStage = (typeof OPEN_STAGES)[number];

export interface MessageLocation {
  channel: string;
  ts: string;
}

/**
 * What a button or form was shown for, as it comes back from Slack. A value posted before rounds were carried has
 * only the exception's number: `round` is then undefined.
 */
export interface ShownFor {
  exceptionId: number;
  round?: number;
  stage?: OpenStage;
  /** The expiry the Approve confirmation named. */
  expiresOn?: string;
  /** The message the button was pressed on, when it was pressed on a message. */
  pressedOn?: MessageLocation;
}

/** The exception as it is now: the round people act on, what it waits for, and where that is done. */
export interface CurrentRound {
  round: number;
  /** Null when the round waits for nobody (decided, withdrawn, closed). */
  stage: OpenStage | null;
  /** What approving the current round accepts: the request's, or the renewal's, asked-for expiry. */
  expiresOn: string;
  /** The message the current stage is acted on: the triage card for an assessment, the round's decision message for a decision. */
  card: MessageLocation | null;
  /** What each later round is, where it is not a renewal of that number: rounds count changes of terms too. */
  roundNames?: Record<number, string>;
}

export function roundName(round: number): string {
  return round === 0 ? 'the original request' : `renewal ${round}`;
}

function nameOf(round: number, current: CurrentRound): string {
  return current.roundNames?.[round] ?? roundName(round);
}

/** Refused because it was shown for something else; `lead` takes a link to where the current round is handled. */
export class StaleInteraction extends DomainError {
  constructor(
    message: string,
    /** The sentence up to the link, e.g. "This was for the original request; renewal 1 is decided here". */
    readonly lead: string,
    readonly current: MessageLocation | null,
  ) {
    super('stale', message);
    this.name = 'StaleInteraction';
  }
}

const sameMessage = (a: MessageLocation | undefined, b: MessageLocation | null) => a !== undefined && b !== null && a.channel === b.channel && a.ts === b.ts;

/**
 * A value without a round was posted before rounds were carried. It stands for the original request while nothing
 * was ever renewed, and for the current round only when pressed on that round's own decision message (each round is
 * decided in a message of its own); anything else may have changed under it, so it is stale.
 */
function shownRound(shown: ShownFor, current: CurrentRound): number | undefined {
  if (shown.round !== undefined) return shown.round;
  if (current.round === 0) return 0;
  if (current.stage === 'decision' && sameMessage(shown.pressedOn, current.card)) return current.round;
  return undefined;
}

function staleRefusal(shownAs: string, current: CurrentRound): StaleInteraction {
  const now = nameOf(current.round, current);
  if (current.stage === null) {
    const text = `${shownAs}; ${now} is what stands now, and it waits for nobody. Nothing was changed.`;
    return new StaleInteraction(text, text, null);
  }
  const verb = current.stage === 'assessment' ? 'assessed' : 'decided';
  const lead = `${shownAs}; ${now} is ${verb} here`;
  const where = current.stage === 'assessment' ? "on the exception's card in the approvals channel" : 'on its own decision message';
  return new StaleInteraction(`${shownAs}; ${now} is ${verb} ${where}. Nothing was changed.`, lead, current.card);
}

/**
 * SPEC §1: a button or form acts only on the exception, round and stage it was shown for. `stage` is what the action
 * needs. Whether the round still waits for that stage is the lifecycle's question, asked after this one.
 */
export function assertShownFor(shown: ShownFor, current: CurrentRound, stage: OpenStage): void {
  const round = shownRound(shown, current);
  if (round === undefined) throw staleRefusal('This was posted before the latest renewal', current);
  if (round !== current.round) throw staleRefusal(`This was for ${nameOf(round, current)}`, current);
  if (shown.stage !== undefined && shown.stage !== stage) {
    throw staleRefusal(`This was for the ${shown.stage === 'assessment' ? 'risk assessment' : 'decision'} of ${nameOf(round, current)}`, current);
  }
  if (stage === 'decision' && shown.expiresOn !== undefined && shown.expiresOn !== current.expiresOn) {
    throw staleRefusal(`You were shown an expiry of ${shown.expiresOn}, but ${nameOf(round, current)} now asks for ${current.expiresOn}`, current);
  }
}
