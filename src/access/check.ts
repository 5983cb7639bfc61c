// Would AWS let this GitLab ID token assume this role? The checks STS makes for
// AssumeRoleWithWebIdentity, in its order, each failure said in words: the
// token's issuer must have an IAM OIDC provider, the token's audience must be
// in that provider's client IDs, and the role's trust policy must allow the
// action for that provider with every condition satisfied (an explicit Deny wins).
import { asList, type PolicyDocument, type PolicyStatement, statementsOf } from '../policy/iam-document.ts';
import { providerUrlOf } from '../policy/trust-policy.ts';
import { type ConditionResult, evaluateConditions, likePattern, type RequestContext } from './conditions.ts';

export const ACTION = 'sts:AssumeRoleWithWebIdentity';

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
}

export interface ProviderInfo {
  arn: string;
  /** As IAM stores it: the issuer without https://. */
  url: string;
  clientIds: string[];
}

export interface StatementVerdict {
  index: number;
  sid?: string;
  effect: 'Allow' | 'Deny';
  applies: boolean;
  notApplicableBecause?: string;
  conditions: ConditionResult[];
  matched: boolean;
}

export interface AccessVerdict {
  allowed: boolean;
  /** The reasons for a denial, most fundamental first; empty when allowed. */
  reasons: string[];
  statements: StatementVerdict[];
  context: RequestContext;
}

function principalIncludes(statement: PolicyStatement, providerArn: string | undefined): boolean {
  if (statement.Principal === '*') return true;
  const federated = asList((statement.Principal as Record<string, string | string[]> | undefined)?.Federated);
  return federated.includes('*') || (providerArn !== undefined && federated.includes(providerArn));
}

function actionIncludes(statement: PolicyStatement): boolean {
  const matches = (pattern: string) => likePattern(pattern.toLowerCase()).test(ACTION.toLowerCase());
  if (statement.NotAction !== undefined) return !asList(statement.NotAction).some(matches);
  return asList(statement.Action).some(matches);
}

export function checkAccess(input: {
  claims: TokenClaims;
  trustPolicy: PolicyDocument;
  /** The account's OIDC provider for the token's issuer, if there is one. */
  provider: ProviderInfo | undefined;
}): AccessVerdict {
  const { claims, trustPolicy, provider } = input;
  const prefix = providerUrlOf(claims.iss);
  const context: RequestContext = { [`${prefix}:sub`]: [claims.sub], [`${prefix}:aud`]: claims.aud };
  const reasons: string[] = [];

  if (!provider) {
    reasons.push(
      `no IAM OIDC identity provider exists for the token's issuer ${claims.iss} (provider URL ${prefix}); AWS answers InvalidIdentityToken`,
    );
  } else if (!claims.aud.some((a) => provider.clientIds.includes(a))) {
    reasons.push(
      `the token's audience ${claims.aud.map((a) => JSON.stringify(a)).join(', ')} is not among the client IDs of ${provider.arn} [${provider.clientIds.map((c) => JSON.stringify(c)).join(', ')}]; AWS answers InvalidIdentityToken "Incorrect token audience"`,
    );
  }

  const statements = statementsOf(trustPolicy).map((s, index): StatementVerdict => {
    const base = { index, sid: s.Sid, effect: s.Effect };
    if (!actionIncludes(s)) {
      return {
        ...base,
        applies: false,
        notApplicableBecause: `its Action does not include ${ACTION}`,
        conditions: [],
        matched: false,
      };
    }
    if (!principalIncludes(s, provider?.arn)) {
      const named = asList((s.Principal as Record<string, string | string[]> | undefined)?.Federated);
      return {
        ...base,
        applies: false,
        notApplicableBecause: `its Federated principal ${named.join(', ') || '(none)'} is not the provider of the token's issuer${provider ? ` (${provider.arn})` : ` (${prefix})`}`,
        conditions: [],
        matched: false,
      };
    }
    const conditions = evaluateConditions(s.Condition, context);
    return { ...base, applies: true, conditions, matched: conditions.every((c) => c.satisfied) };
  });

  const deny = statements.find((s) => s.effect === 'Deny' && s.matched);
  const allow = statements.find((s) => s.effect === 'Allow' && s.matched);
  if (deny) {
    reasons.push(`statement ${label(deny)} explicitly denies ${ACTION} for this token`);
  } else if (!allow) {
    const allows = statements.filter((s) => s.effect === 'Allow');
    if (allows.length === 0) reasons.push(`the trust policy has no Allow statement`);
    for (const s of allows) {
      if (!s.applies) reasons.push(`statement ${label(s)} does not apply: ${s.notApplicableBecause}`);
      else
        for (const c of s.conditions.filter((c) => !c.satisfied))
          reasons.push(`statement ${label(s)}: ${c.operator} failed: ${c.explanation}`);
    }
  }
  return { allowed: reasons.length === 0, reasons, statements, context };
}

function label(s: StatementVerdict): string {
  return s.sid ? `${s.index} (${s.sid})` : String(s.index);
}
