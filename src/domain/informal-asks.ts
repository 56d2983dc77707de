/**
 * Phrases people use when they ask for an exception informally in a channel. Deliberately narrow: a false alarm
 * in someone's thread is worse than a missed one, and the formal process is always one command away.
 */
const INFORMAL_ASK_PATTERNS: readonly RegExp[] = [
  /\b(can|could|may)\s+(i|we)\s+(get|have|request)\s+(an?\s+)?(security\s+|policy\s+)?(exception|waiver|exemption)\b/i,
  /\b(need|want|requesting)\s+(an?\s+)?(security\s+|policy\s+)?(exception|waiver|exemption)\b/i,
  /\b(skip|bypass|disable|turn\s+off|waive)\s+(the\s+)?(mfa|2fa|sso|policy|control|requirement|encryption|vpn|edr|patching)\b/i,
  /\b(skip|bypass)\s+\w+\s+for\b/i,
  /\bexempt(ion)?\s+from\s+(the\s+)?\w+\s+(policy|requirement|control)\b/i,
  /\bwaiver\b/i,
];

export function looksLikeInformalAsk(text: string): boolean {
  return INFORMAL_ASK_PATTERNS.some((pattern) => pattern.test(text));
}

/**
 * How many pointers a watched channel gets in an hour, and how many one person does (in any watched channel): a
 * busy channel sees the way to the formal process a few times, not a bot answering every message, and someone
 * asking in several threads has been shown it once. Past either limit the ask gets no pointer; the command and the
 * message shortcut still work.
 */
export const POINTER_LIMITS = { window: 60 * 60_000, perChannel: 5, perPerson: 1 } as const;

/** Whether one more pointer may go, given how many went in the last window to the ask's channel and to its author. */
export function mayPoint(sentInWindow: { toChannel: number; toPerson: number }): boolean {
  return sentInWindow.toChannel < POINTER_LIMITS.perChannel && sentInWindow.toPerson < POINTER_LIMITS.perPerson;
}
