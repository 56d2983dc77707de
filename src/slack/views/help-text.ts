import { SLASH_COMMAND } from '../ids';

export function helpText(): string {
  return [
    '*Security exceptions*: ask to depart from a security policy for a limited time, formally.',
    `• \`${SLASH_COMMAND} request\`: open the request form (policy, business justification, compensating control, owner, expiry date).`,
    `• \`${SLASH_COMMAND} list\`: the exceptions you requested or own; \`${SLASH_COMMAND} list all active\` the register (security team, approvers, committee, auditors).`,
    `• \`${SLASH_COMMAND} show EXC-0001\`: one exception in full, with its history.`,
    `• \`${SLASH_COMMAND} renew EXC-0001\`: ask to extend an active exception, with evidence of remediation progress (owner or requester).`,
    `• \`${SLASH_COMMAND} amend EXC-0001\`: propose a change to an active exception's scope, affected systems or compensating control (owner or requester); it is assessed and approved again, and stays on its current terms until then.`,
    `• \`${SLASH_COMMAND} close EXC-0001\`: close an exception whose gap is remediated (owner or requester).`,
    `• \`${SLASH_COMMAND} withdraw EXC-0001\`: withdraw your own request before it is decided.`,
    `• \`${SLASH_COMMAND} metrics\`: this week's figures for the register, as the committee sees them.`,
    `• \`${SLASH_COMMAND} help\`: show this message.`,
    'The security team assesses the risk, an approver or the steering committee decides, and every step is recorded in the register. Approvals given in a chat thread do not count.',
  ].join('\n');
}
