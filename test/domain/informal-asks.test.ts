import { describe, expect, it } from 'vitest';
import { looksLikeInformalAsk, mayPoint } from '../../src/domain/informal-asks';

describe('looksLikeInformalAsk', () => {
  it.each([
    'can I get an exception for MFA on the HR box?',
    'Could we have a security exception until the migration is done',
    'we need an exception to the patching policy for the lab',
    'can we skip MFA for the two contractors starting Monday?',
    'any way to bypass the policy for the demo laptop?',
    'please turn off 2FA for the kiosk account',
    'who signs a waiver for the old VPN?',
    'is the build server exempt from the encryption policy?',
  ])('notices %j', (text) => {
    expect(looksLikeInformalAsk(text)).toBe(true);
  });

  it.each([
    'the exception handler throws on null input',
    'MFA rollout is done for finance, thanks all',
    'can I get access to the wiki?',
    'the policy review is on Thursday',
    'ok, approved',
  ])('leaves %j alone', (text) => {
    expect(looksLikeInformalAsk(text)).toBe(false);
  });
});

describe('mayPoint: at most five pointers per channel and one per person in an hour', () => {
  it.each([
    { toChannel: 0, toPerson: 0, may: true },
    { toChannel: 4, toPerson: 0, may: true },
    { toChannel: 5, toPerson: 0, may: false },
    { toChannel: 0, toPerson: 1, may: false },
    { toChannel: 9, toPerson: 3, may: false },
  ])('$toChannel sent to the channel and $toPerson to the person: $may', ({ toChannel, toPerson, may }) => {
    expect(mayPoint({ toChannel, toPerson })).toBe(may);
  });
});
