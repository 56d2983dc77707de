import type { types } from '@slack/bolt';
import { formatAnchor, POSTED_ANCHOR_LABEL, type AuditAnchor } from '../../domain/audit-anchor';
import { AGE_BUCKETS, type Metrics } from '../../domain/metrics';
import type { SlackMessage } from './exception-cards';
import { escapeMrkdwn, plainText, slackDate } from './mrkdwn';

function signed(n: number | null): string {
  if (n === null) return 'no earlier figure yet';
  return n === 0 ? 'no change' : `${n > 0 ? '+' : '−'}${Math.abs(n)}`;
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

const TREND_WORDS: Record<Metrics['trend'], string> = {
  up: ':chart_with_upwards_trend: *up* quarter over quarter: a warning if it keeps rising',
  down: ':chart_with_downwards_trend: *down* quarter over quarter',
  flat: '*flat* quarter over quarter',
  'not enough history': 'not enough history yet (it needs a snapshot from a quarter ago)',
};

/**
 * The weekly post and `/exception metrics`: the four figures the committee reviews, then what is waiting. The weekly
 * post also carries the audit chain's head, so the channel keeps a copy of it that the register cannot rewrite.
 */
export function metricsMessage(metrics: Metrics, anchor?: AuditAnchor): SlackMessage {
  const ages = AGE_BUCKETS.map((bucket) => `${bucket} days: *${metrics.ages[bucket]}*`).join(' · ');
  const policies = metrics.topPolicies.length > 0
    ? metrics.topPolicies.map((p) => `${escapeMrkdwn(p.key)}: ${p.active}${p.many ? ' :warning: (a policy with this many exceptions is a wish, not a policy)' : ''}`).join('\n')
    : 'No active exceptions.';
  return {
    text: `Exception register, week ${metrics.week}: ${metrics.active} active${metrics.changeSinceLastWeek === null ? '' : ` (${signed(metrics.changeSinceLastWeek)} since last week)`}`,
    blocks: [
      { type: 'header', text: plainText(`Exception register, week ${metrics.week}`, 150) },
      section(`*1. Active exceptions: ${metrics.active}* · since last week: ${signed(metrics.changeSinceLastWeek)} · since the same week last quarter: ${signed(metrics.changeSinceLastQuarter)}`),
      section(
        `*2. Age since first approval:* ${ages}` +
          (metrics.overOneEightyGrew ? `\n:warning: *The over-180-days group grew this week* (${metrics.overOneEighty}): exceptions are becoming permanent.` : ''),
      ),
      section(`*3. Exceptions per policy:* ${metrics.perPolicy} overall. Most:\n${policies}`),
      section(`*4. Trend:* ${TREND_WORDS[metrics.trend]}`),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Waiting for assessment or a decision: *${metrics.waiting}*${metrics.oldestWaitingSince ? ` (oldest since ${slackDate(metrics.oldestWaitingSince)})` : ''} · expiring within 14 days: *${metrics.expiringIn14Days}* · renewals this quarter: *${metrics.renewalsThisQuarter}*`,
          },
        ],
      },
      ...(anchor
        ? [
            {
              type: 'context' as const,
              elements: [{ type: 'mrkdwn' as const, text: `${POSTED_ANCHOR_LABEL} \`${formatAnchor(anchor)}\` (events so far, and the last one's hash: keep a copy; \`exceptions audit verify\` checks the register against it)` }],
            },
          ]
        : []),
    ],
  };
}
