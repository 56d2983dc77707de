import { z } from 'zod';
import { CONTROL_CHARACTERS } from './request';

/** Free text that ends up in Slack and on an admin's terminal: bounded, and without control characters. */
export function plainText(label: string, min: number, max: number, hint: string) {
  return z
    .string({ error: `${label} is required. ${hint}` })
    .trim()
    .min(min, { error: `${label} must be at least ${min} characters. ${hint}` })
    .max(max, { error: `${label} must be at most ${max} characters.` })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: `${label} contains control characters; paste it as plain text.` });
}

/** Why an exception ends: how the gap was remediated, or why the committee revokes it. The register keeps it as evidence. */
export const ClosingNote = plainText('The note', 20, 2000, 'Say how the gap was remediated, or why it ends: the register keeps this note as evidence.');

/** A committee member's reason to keep an exception open past its original expiry. */
export const FreshJustification = plainText('A fresh justification', 40, 2000, 'Say why it should stay open past its original expiry, as of today.');
