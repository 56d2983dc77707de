import type { RequestField } from '../domain/request';
import type { AssessmentField } from '../domain/risk';

/** Every identifier Slack sends back to us, defined once so builders and listeners cannot drift apart. */
export const SLASH_COMMAND = '/exception';

export const CALLBACK_IDS = {
  request: 'exception_request',
  assessment: 'risk_assessment',
  rejection: 'rejection_reason',
} as const;

export const ACTION_IDS = {
  assessRisk: 'assess_risk',
  approve: 'approve_exception',
  reject: 'reject_exception',
  policyPicker: 'policy_picker',
  renew: 'renew_exception',
  close: 'close_exception',
} as const;

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

export const REJECTION_BLOCK_ID = 'reason';

/** The single element inside each input block. */
export const INPUT_ACTION_ID = 'value';
