export interface Roles {
  securityTeam: ReadonlySet<string>;
  approvers: ReadonlySet<string>;
  committee: ReadonlySet<string>;
  auditors: ReadonlySet<string>;
}
