/**
 * Slack mrkdwn treats only &, < and > as control characters; escaping them turns `<!channel>` or
 * `<https://evil|click>` into visible text instead of a ping or a forged link.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
