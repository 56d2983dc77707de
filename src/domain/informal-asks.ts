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
