// How the CodeConnections fake is set up (its own file, so the operations read it without a circle).
import type { ArnPrefix } from './state.ts';

export interface CodeConnectionsFakeOptions {
  /**
   * Region of planted resources. API calls use the Region of their SigV4 credential scope (a
   * request without one is refused). Default us-east-1.
   */
  region?: string;
  /** Default 123456789012. */
  accountId?: string;
  /** Service prefix of the ARNs this fake issues. Default 'codestar-connections'. */
  arnPrefix?: ArnPrefix;
  /** Connections per Region. Default 250 (adjustable in AWS). */
  connectionQuota?: number;
  /** Hosts per account. Default 50 (fixed in AWS). */
  hostQuota?: number;
  /** Page size of ListConnections/ListHosts when MaxResults is absent or 0. Default 100 (GUESS). */
  listPageSize?: number;
  /**
   * 'allow' (default): CreateConnection accepts a name already in use, as the model (no
   * uniqueness error, no client token) suggests. 'reject': answer ResourceAlreadyExistsException,
   * to test an operator against the stricter reading of "names must be unique in an account".
   */
  duplicateConnectionNames?: 'allow' | 'reject';
  /**
   * true (default): HostArn members accept `codeconnections` host ARNs, as the current API
   * reference's pattern does. false: the older 2019-12-01 model pattern, codestar-connections only.
   */
  acceptCodeconnectionsHostArns?: boolean;
  /**
   * A host created or updated with a VPC configuration starts VPC_CONFIG_INITIALIZING. null
   * (default): it stays there until setHostStatus(); a number: it turns PENDING after that many ms.
   */
  vpcInitializationMs?: number | null;
  /** DeleteHost of a host with a VPC: 0 (default) removes it at once, else VPC_CONFIG_DELETING for that long. */
  vpcDeletionMs?: number;
  /** Listen address. Default 127.0.0.1, port 0 (any free port). */
  host?: string;
  port?: number;
}

export type ResolvedOptions = Required<Omit<CodeConnectionsFakeOptions, 'vpcInitializationMs'>> & {
  vpcInitializationMs: number | null;
};
