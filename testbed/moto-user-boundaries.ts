// Permissions boundaries of IAM users, which moto 5.2.5 does not have: its
// CreateUser drops the PermissionsBoundary parameter, GetUser never returns
// one, and PutUserPermissionsBoundary / DeleteUserPermissionsBoundary answer
// HTTP 500 with an HTML page. The operator sets a user's boundary on create
// and corrects it on every later reconcile (method IAMUserAccessKeys, with a
// boundary from the spec or from a GitLabAwsPolicy), so without this a
// federation with a boundary fails from its second reconcile on.
//
// The proxy (moto-iam-proxy.ts) hands these actions here: the boundary is kept
// per account and user name (the account from the user's ARN, as moto
// answers it), CreateUser and DeleteUser still go to moto, GetUser's answer
// gets the boundary added as IAM returns it, and the put and delete actions
// are answered here once moto confirms the user exists. Like moto's role
// boundaries, the policy ARN is not checked.
import { randomUUID } from 'node:crypto';

export interface BoundaryReply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

const ACTIONS = new Set([
  'iam:CreateUser',
  'iam:GetUser',
  'iam:DeleteUser',
  'iam:PutUserPermissionsBoundary',
  'iam:DeleteUserPermissionsBoundary',
]);
const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';

export class UserBoundaries {
  private readonly boundaries = new Map<string, string>();

  handles(action: string | undefined): boolean {
    return action !== undefined && ACTIONS.has(action);
  }

  /**
   * `forward` sends the request to moto as it came; `getUser` asks moto for
   * the user named (with the caller's credentials).
   */
  async handle(
    action: string,
    params: URLSearchParams,
    forward: () => Promise<BoundaryReply>,
    getUser: (name: string) => Promise<BoundaryReply>,
  ): Promise<BoundaryReply> {
    const user = params.get('UserName') ?? '';
    switch (action) {
      case 'iam:CreateUser': {
        const reply = await forward();
        const arn = params.get('PermissionsBoundary');
        if (reply.status !== 200 || !arn) return reply;
        this.boundaries.set(keyOf(reply, user), arn);
        return withBoundary(reply, arn);
      }
      case 'iam:GetUser': {
        const reply = await forward();
        if (reply.status !== 200) return reply;
        const arn = this.boundaries.get(keyOf(reply, params.get('UserName') ?? nameOf(reply)));
        return arn ? withBoundary(reply, arn) : reply;
      }
      case 'iam:DeleteUser': {
        const found = await getUser(user);
        const reply = await forward();
        if (found.status === 200 && reply.status === 200) this.boundaries.delete(keyOf(found, user));
        return reply;
      }
      default: {
        // Put or Delete UserPermissionsBoundary: IAM answers NoSuchEntity for a user that does not exist.
        const found = await getUser(user);
        if (found.status !== 200) return found;
        const key = keyOf(found, user);
        const name = action.slice('iam:'.length);
        if (name === 'PutUserPermissionsBoundary') {
          const arn = params.get('PermissionsBoundary');
          if (!arn) return validationError('permissionsBoundary');
          this.boundaries.set(key, arn);
        } else {
          this.boundaries.delete(key);
        }
        return ok(name);
      }
    }
  }
}

/** Account and user name, the account from the <Arn> of moto's answer about the user. */
function keyOf(reply: BoundaryReply, user: string): string {
  const account = /<Arn>arn:aws:iam::(\d+):user\//.exec(reply.body.toString())?.[1] ?? '';
  return `${account}/${user}`;
}

/** GetUser without UserName is about the caller: its name, from the answer. */
function nameOf(reply: BoundaryReply): string {
  return /<UserName>([^<]*)<\/UserName>/.exec(reply.body.toString())?.[1] ?? '';
}

/** Adds <PermissionsBoundary> to the <User> of a CreateUser or GetUser answer. */
function withBoundary(reply: BoundaryReply, arn: string): BoundaryReply {
  const xml = reply.body.toString();
  const boundary =
    '<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType>' +
    `<PermissionsBoundaryArn>${escapeXml(arn)}</PermissionsBoundaryArn></PermissionsBoundary>`;
  if (!xml.includes('</User>') || xml.includes('<PermissionsBoundary>')) return reply;
  const body = xml.replace('</User>', `${boundary}</User>`);
  const headers = { ...reply.headers };
  delete headers['content-length'];
  return { ...reply, headers, body };
}

function ok(action: string): BoundaryReply {
  const id = randomUUID();
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id },
    body: `<${action}Response xmlns="${IAM_NS}"><ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function validationError(member: string): BoundaryReply {
  const id = randomUUID();
  return {
    status: 400,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id },
    body:
      `<ErrorResponse xmlns="${IAM_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
      `<Message>1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null</Message>` +
      `</Error><RequestId>${id}</RequestId></ErrorResponse>`,
  };
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&'"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`,
  );
}
