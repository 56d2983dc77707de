export const EXCEPTION_STATUSES = [
  'requested',
  'pending_approval',
  'active',
  'expired',
  'rejected',
  'closed',
  'revoked',
] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];

export const APPROVAL_ROUTES = ['fast_path', 'committee'] as const;
export type ApprovalRoute = (typeof APPROVAL_ROUTES)[number];

export const DECISION_OUTCOMES = ['approve', 'reject'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

export const STATUS_LABELS: Record<ExceptionStatus, string> = {
  requested: 'Waiting for risk assessment',
  pending_approval: 'Waiting for approval',
  active: 'Active',
  expired: 'Expired',
  rejected: 'Rejected',
  closed: 'Closed',
  revoked: 'Revoked',
};

/** Slack user IDs: U… for ordinary workspaces, W… for Enterprise Grid; today 9 to 11 characters, 21 allowed for growth. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

const REF_PATTERN = /^EXC-(\d{4,})$/i;

export function formatExceptionRef(id: number): string {
  return `EXC-${String(id).padStart(4, '0')}`;
}

export function parseExceptionRef(ref: string): number | undefined {
  const match = REF_PATTERN.exec(ref.trim());
  if (!match?.[1]) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
