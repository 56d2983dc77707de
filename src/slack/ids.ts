import type { RequestField } from '../domain/request';
import type { AssessmentField } from '../domain/risk';
import type { RenewalField } from '../domain/renewal';
import type { TermChangeField } from '../domain/amendment';

/** Every identifier Slack sends back to us, defined once so builders and listeners cannot drift apart. */
export const SLASH_COMMAND = '/exception';

export const CALLBACK_IDS = {
  request: 'exception_request',
  assessment: 'risk_assessment',
  rejection: 'rejection_reason',
  close: 'close_exception',
  renewal: 'renewal_request',
  reapproval: 'reapproval',
  /** "Ask for changes": what the requester should change, sent back instead of a rejection. */
  changesRequested: 'changes_requested',
  /** The requester's amended request, prefilled from the one sent back. */
  amendment: 'request_amendment',
  /** The requester's confirmation that they withdraw their request, with an optional reason. */
  withdrawal: 'request_withdrawal',
  /** The owner's or requester's proposed change to an active exception's scope, affected systems or compensating control. */
  changeTerms: 'change_terms',
} as const;

export const ACTION_IDS = {
  assessRisk: 'assess_risk',
  approve: 'approve_exception',
  reject: 'reject_exception',
  policyPicker: 'policy_picker',
  renew: 'renew_exception',
  close: 'close_exception',
  checkinYes: 'checkin_yes',
  checkinNo: 'checkin_no',
  reapprove: 'reapprove_exception',
  revoke: 'revoke_exception',
  requestFromThread: 'request_from_thread',
  openRequest: 'open_request_form',
  acceptOwnership: 'accept_ownership',
  declineOwnership: 'decline_ownership',
  /** "View details": opens the whole record in a modal, from any card, DM or App Home item. */
  viewRecord: 'view_record',
  /** Sends a request back to its requester with what to change; assessment and decision start again on the amended one. */
  askForChanges: 'ask_for_changes',
  /** The requester's button on a sent-back request: opens the request form prefilled, to amend it. */
  amendRequest: 'amend_request',
  /** The requester's button on their request (DMs, App Home): opens the confirmation to withdraw it. */
  withdrawRequest: 'withdraw_request',
  /** The owner's or requester's button on an active exception: opens the "Change terms" form, prefilled. */
  changeTerms: 'change_terms',
} as const;

/** The message shortcut "Request an exception from this message" (manifest.yml names the same id). */
export const SHORTCUT_IDS = { requestFromMessage: 'request_from_message' } as const;

/** Input blocks are named after the domain field they carry, so a domain error lands next to its field. */
export const REQUEST_BLOCK_IDS: Record<RequestField, string> = {
  policy: 'policy',
  title: 'title',
  scope: 'scope',
  justification: 'justification',
  compensatingControls: 'compensating_controls',
  owner: 'owner',
  expiresOn: 'expires_on',
  affectedSystems: 'affected_systems',
  externalRef: 'external_ref',
  structural: 'structural',
  structuralReason: 'structural_reason',
};

export const ASSESSMENT_BLOCK_IDS: Record<AssessmentField, string> = {
  likelihood: 'likelihood',
  impact: 'impact',
  rationale: 'rationale',
};

export const RENEWAL_BLOCK_IDS: Record<RenewalField, string> = {
  progress: 'remediation_progress',
  percentComplete: 'percent_complete',
  evidenceUrl: 'evidence_url',
  controlTestedOn: 'control_tested_on',
  expiresOn: 'new_expires_on',
};

/** The "Change terms" form: each proposed term in the block named after it, like the request form's. */
export const TERM_CHANGE_BLOCK_IDS: Record<TermChangeField, string> = {
  scope: 'scope',
  affectedSystems: 'affected_systems',
  compensatingControls: 'compensating_controls',
  reason: 'change_reason',
};

export const REJECTION_BLOCK_ID = 'reason';

/** What the requester should change, in the "Ask for changes" modal. */
export const CHANGES_BLOCK_ID = 'what_to_change';

export const CLOSING_NOTE_BLOCK_ID = 'closing_note';
/** The optional reason in the withdrawal confirmation. */
export const WITHDRAWAL_REASON_BLOCK_ID = 'withdrawal_reason';

export const FRESH_JUSTIFICATION_BLOCK_ID = 'fresh_justification';

/** The single element inside each input block. */
export const INPUT_ACTION_ID = 'value';
