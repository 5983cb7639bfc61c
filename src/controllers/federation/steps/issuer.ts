// The issuer, discovered as AWS will discover it at job time. The
// provider URL, its ARN and the condition keys all come from the document's
// issuer, never from string-building on spec.gitlab.url.
import { discoverIssuer, serverThumbprint } from '../../../adapters/gitlab/discovery.ts';
import { providerUrlOf } from '../../../policy/trust-policy.ts';
import { next, type Step } from '../../../runtime/reconcile/steps.ts';
import { ISSUER_DISCOVERABLE, REASONS } from '../conditions.ts';
import { caPemOf, egressOf, type FederationState } from '../state.ts';

export const issuerStep: Step<FederationState> = {
  name: 'issuer',
  condition: ISSUER_DISCOVERABLE,
  async run(s) {
    const caPem = await caPemOf(s);
    const { url } = s.r;
    const egress = egressOf(s);
    // A discovery made where private addresses were allowed is not one where they are not.
    s.issuer = await s.shared.issuers.get(`${url}\n${caPem ?? ''}\n${egress.allowPrivate}`, async () => {
      const gate = s.deps
        .gitlabSystemFor(url)
        .gateFor('unauthenticated', 'GitLab asked unauthenticated requests to wait');
      const discovery = await discoverIssuer(url, { caPem, gate, allowPrivate: egress.allowPrivate });
      return {
        discovery,
        thumbprint: caPem ? await serverThumbprint(discovery.jwksUri, caPem, egress) : undefined,
      };
    });
    const { issuer, jwksUri } = s.issuer.discovery;
    s.providerUrl = providerUrlOf(issuer);
    s.status.issuer = issuer;
    s.ctx.conditions.set(
      ISSUER_DISCOVERABLE,
      true,
      REASONS.discovered,
      `issuer ${issuer}, keys at ${jwksUri}`,
    );
    return next();
  },
};
