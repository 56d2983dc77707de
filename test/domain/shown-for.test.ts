import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import { assertShownFor, StaleInteraction, type CurrentRound, type OpenStage, type ShownFor } from '../../src/domain/shown-for';

const CARD = { channel: 'C0APPROVALS', ts: '1795600800.000200' };
const OLD_CARD = { channel: 'C0APPROVALS', ts: '1795000000.000100' };

const original = (stage: OpenStage | null): CurrentRound => ({ round: 0, stage, expiresOn: '2027-01-15', card: stage ? CARD : null });
const renewal = (stage: OpenStage | null): CurrentRound => ({ round: 1, stage, expiresOn: '2027-03-01', card: stage ? CARD : null });

function verdict(shown: ShownFor, current: CurrentRound, stage: OpenStage): string {
  try {
    assertShownFor(shown, current, stage);
    return 'acts';
  } catch (error) {
    if (error instanceof StaleInteraction) return error.message;
    throw error;
  }
}

describe('assertShownFor (SPEC §1: a button or form acts only on the exception, round and stage it was shown for)', () => {
  it.each<[string, ShownFor, CurrentRound, OpenStage, string]>([
    ['Approve shown for the original, original waits', { exceptionId: 1, round: 0, stage: 'decision', expiresOn: '2027-01-15' }, original('decision'), 'decision', 'acts'],
    [
      'Approve shown for the original, renewal 1 waits',
      { exceptionId: 1, round: 0, stage: 'decision', expiresOn: '2027-01-15' },
      renewal('decision'),
      'decision',
      'This was for the original request; renewal 1 is decided on its own decision message. Nothing was changed.',
    ],
    [
      'Assess shown for the original, renewal 1 waits for assessment',
      { exceptionId: 1, round: 0, stage: 'assessment' },
      renewal('assessment'),
      'assessment',
      "This was for the original request; renewal 1 is assessed on the exception's card in the approvals channel. Nothing was changed.",
    ],
    [
      'Reject shown for the original, renewal 1 already decided',
      { exceptionId: 1, round: 0, stage: 'decision' },
      renewal(null),
      'decision',
      'This was for the original request; renewal 1 is what stands now, and it waits for nobody. Nothing was changed.',
    ],
    // Whether the round still waits for this stage is the lifecycle's answer, with its own words.
    ['Assess shown for the original, original already assessed', { exceptionId: 1, round: 0, stage: 'assessment' }, original('decision'), 'assessment', 'acts'],
    [
      'a value saying assessment on an Approve',
      { exceptionId: 1, round: 0, stage: 'assessment' },
      original('decision'),
      'decision',
      'This was for the risk assessment of the original request; the original request is decided on its own decision message. Nothing was changed.',
    ],
    [
      'an Approve naming another expiry than the round asks',
      { exceptionId: 1, round: 1, stage: 'decision', expiresOn: '2027-02-01' },
      renewal('decision'),
      'decision',
      'You were shown an expiry of 2027-02-01, but renewal 1 now asks for 2027-03-01; renewal 1 is decided on its own decision message. Nothing was changed.',
    ],
    ['a bare number while nothing was renewed', { exceptionId: 1 }, original('decision'), 'decision', 'acts'],
    ['a bare number pressed on the current round’s decision message', { exceptionId: 1, pressedOn: CARD }, renewal('decision'), 'decision', 'acts'],
    [
      'a bare number pressed on an earlier decision message',
      { exceptionId: 1, pressedOn: OLD_CARD },
      renewal('decision'),
      'decision',
      'This was posted before the latest renewal; renewal 1 is decided on its own decision message. Nothing was changed.',
    ],
    [
      'a bare number from App Home or a form, once renewed',
      { exceptionId: 1 },
      renewal('assessment'),
      'assessment',
      "This was posted before the latest renewal; renewal 1 is assessed on the exception's card in the approvals channel. Nothing was changed.",
    ],
  ])('%s', (_label, shown, current, stage, expected) => {
    expect(verdict(shown, current, stage)).toBe(expected);
  });

  it('is a stale refusal that can link to where the current round is handled', () => {
    let caught: unknown;
    try {
      assertShownFor({ exceptionId: 1, round: 0 }, renewal('decision'), 'decision');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect(caught).toMatchObject({ code: 'stale', lead: 'This was for the original request; renewal 1 is decided here', current: CARD });
  });
});
