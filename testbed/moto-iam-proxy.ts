// An HTTP proxy in front of moto for IAM and STS.
//
// moto 5.2.5 does not implement AddClientIDToOpenIDConnectProvider and
// RemoveClientIDFromOpenIDConnectProvider (it answers HTTP 500 with an HTML
// page). The operator needs both for shared OIDC providers, and its production
// code path must run unchanged against the emulator. So this proxy answers
// exactly those two actions itself, on top of moto's own state: it reads the
// provider with GetOpenIDConnectProvider and, when the client ID list really
// changes, deletes the provider and creates it again with the same URL (hence
// the same ARN), the new ClientIDList, the same ThumbprintList and the same
// Tags. Only CreateDate changes. Every other request is forwarded to moto as
// it came (method, path, end-to-end headers, body) and moto's answer goes back
// as it came.
//
// It also keeps the permissions boundaries of IAM users, which moto ignores
// (see "User permissions boundaries" below).
//
// Besides that the proxy
// - records every IAM/STS action that passes through, in order, as
//   `iam:<Action>` / `sts:<Action>` (`actions`), including attempts answered
//   by an injected fault, so tests can compare the operator's IAM policy with
//   the calls it really makes;
// - injects faults (`faults.add`): IAM's `Throttling` (HTTP 400, "Rate
//   exceeded"), `ServiceFailure` (HTTP 500) or `AccessDenied` (HTTP 403, a
//   permission the caller lacks), for a number of requests
//   (`times`) and/or at random (`probability`), and counts them (`hits`);
// - holds requests (`type: 'hold'`), to cut a caller off in the middle of a
//   call: a test SIGKILLs the operator once the handle's `arrived` resolves.
//   With `forward: true` the request is carried out first (the call took
//   effect, its answer is lost), with `forward: false` it never is (the cut
//   came before the call). A held request ends when its caller goes away
//   (nothing more happens, nothing is kept in `answers`), on `release()` (it
//   goes on as if never held: carried out if it was not yet, and answered),
//   or on `close()`. Any fault can be limited to one IAM user (`user`);
// - keeps the answers to the actions a test names (`keepAnswers`), body and
//   all, in `answers`: what the caller was told, e.g. every secret
//   `iam:CreateAccessKey` ever handed out, for tests that look for it later.
//
// Delete + create is not atomic in moto. Through the proxy it is: the two
// synthetic actions hold an exclusive lock, forwarded requests a shared one,
// so no request through the same proxy sees the provider missing in between.
// Requests that go to moto directly (or through another proxy) can.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MotoIamFault {
  /** `iam:CreateRole`, `sts:AssumeRoleWithWebIdentity` or just `CreateRole`; every action when left out. */
  action?: string;
  /** Only requests whose `UserName` parameter is this (a user's own calls); any request when left out. */
  user?: string;
  type: 'throttle' | 'server-error' | 'access-denied' | 'hold';
  /**
   * For `hold`: whether the held request is carried out (before it is held:
   * the call takes effect and only its answer is kept from the caller) or
   * not (the call never happens, unless `release()` lets it go on). Default false.
   */
  forward?: boolean;
  /** How many matching requests get the fault; unlimited (until `clear()`) when left out. */
  times?: number;
  /**
   * Chance (0..1) that a matching request gets the fault; 1 when left out. A
   * request spared by the dice does not use up `times` and goes on to the
   * next matching fault, or to moto.
   */
  probability?: number;
}

/** An answer the proxy kept (`keepAnswers`): as the caller received it. */
export interface MotoIamAnswer {
  action: string;
  status: number;
  body: string;
}

/** What `faults.add` returns: how many requests the fault has answered (or held) so far, and when the first came. */
export interface MotoIamFaultHandle {
  readonly hits: number;
  /**
   * Resolves when the fault first applies: for `hold`, once the request is
   * held (with `forward: true`, after it was carried out).
   */
  readonly arrived: Promise<void>;
  /** Lets the requests this `hold` holds, and any it holds later, go on as if never held. */
  release(): void;
}

export interface MotoIamProxy {
  /** Point `@aws-sdk/client-iam` (and `client-sts`) here instead of at moto. */
  url: string;
  /** Every action received, in order: `iam:CreateRole`, `sts:GetCallerIdentity`, ... */
  actions: string[];
  /** The answers to the actions named in `keepAnswers`, in order. */
  answers: MotoIamAnswer[];
  faults: {
    add: (fault: MotoIamFault) => MotoIamFaultHandle;
    clear: () => void;
  };
  close: () => Promise<void>;
}

const IAM_VERSION = '2010-05-08';
const STS_VERSION = '2011-06-15';
const NAMESPACE: Record<string, string> = {
  iam: `https://iam.amazonaws.com/doc/${IAM_VERSION}/`,
  sts: `https://sts.amazonaws.com/doc/${STS_VERSION}/`,
};
const MAX_CLIENT_IDS = 100;
const MAX_CLIENT_ID_LENGTH = 255;
// Hop-by-hop headers belong to one connection, not to the message (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

class IamError extends Error {
  readonly status: number;
  readonly code: string;
  readonly type: 'Sender' | 'Receiver';
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.type = status >= 500 ? 'Receiver' : 'Sender';
  }
}

export interface MotoIamProxyOptions {
  /**
   * Signs the proxy's own calls to moto (SigV4) with these. A moto that
   * enforces IAM (`/moto-api/reset-auth`) checks every signature, so there the
   * proxy needs a key of its own that may read and tag users and OIDC
   * providers; the callers' requests are forwarded as they came, so moto
   * still authorises each caller for the actions it asks for. Without
   * credentials the own calls carry the caller's Authorization header, which
   * a moto that does not enforce IAM takes as it is.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Actions (`iam:CreateAccessKey`) whose answers are kept in `answers`, faults and errors included. */
  keepAnswers?: string[];
}

export async function startMotoIamProxy(
  motoUrl: string,
  options: MotoIamProxyOptions = {},
): Promise<MotoIamProxy> {
  const target = new URL(motoUrl);
  const { credentials } = options;
  const ownAuth = (headers: IncomingHttpHeaders): OwnAuth =>
    credentials
      ? (body) => sigV4(target, body, credentials)
      : () => ({ authorization: authorizationFor(headers) });
  const actions: string[] = [];
  const answers: MotoIamAnswer[] = [];
  const keep = new Set(options.keepAnswers ?? []);
  const faults: FaultEntry[] = [];
  const lock = new ReadWriteLock();

  const takeFault = (action: string, user: string | null): FaultEntry | undefined => {
    const bare = action.slice(action.indexOf(':') + 1);
    const fault = faults.find(
      (f) =>
        f.left > 0 &&
        (f.action === undefined || f.action === action || f.action === bare) &&
        (f.user === undefined || f.user === user) &&
        (f.probability === undefined || Math.random() < f.probability),
    );
    if (fault) {
      fault.left -= 1;
      fault.hits += 1;
    }
    return fault;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const params = requestParams(req, body);
      const actionName = params.get('Action');
      const service = serviceOf(req.headers, params);
      const action = actionName ? `${service}:${actionName}` : undefined;
      if (action) actions.push(action);
      /** What the proxy answers when no fault applies: its own actions, else moto's answer. */
      const answer = async (): Promise<Reply> => {
        if (
          action === 'iam:AddClientIDToOpenIDConnectProvider' ||
          action === 'iam:RemoveClientIDFromOpenIDConnectProvider'
        ) {
          const name = actionName as string;
          return lock.exclusive(() =>
            changeClientIds(target, ownAuth(req.headers), name, params).catch((err: unknown) => {
              if (err instanceof IamError) return errorReply('iam', err);
              throw err;
            }),
          );
        }
        if (action && USER_BOUNDARY_ACTIONS.has(action)) {
          return lock.shared(() =>
            userBoundary(target, ownAuth(req.headers), actionName as string, params, () =>
              forward(target, req, body),
            ),
          );
        }
        return lock.shared(() => forward(target, req, body));
      };

      let reply: Reply;
      const fault = action ? takeFault(action, params.get('UserName')) : undefined;
      if (fault?.type === 'hold') {
        const held = await hold(fault, res, answer);
        if (!held) return; // the caller went away: nothing to answer
        reply = held;
      } else if (fault) {
        const error = {
          throttle: new IamError(400, 'Throttling', 'Rate exceeded'),
          'server-error': new IamError(500, 'ServiceFailure', 'Injected service failure (moto-iam-proxy)'),
          'access-denied': new IamError(
            403,
            'AccessDenied',
            `User: arn:aws:iam::123456789012:user/operator is not authorized to perform: ${action} (moto-iam-proxy)`,
          ),
        }[fault.type];
        fault.arrive();
        reply = errorReply(service, error);
      } else {
        reply = await answer();
      }
      if (action && keep.has(action))
        answers.push({ action, status: reply.status, body: reply.body.toString() });
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    })().catch((err: unknown) => {
      // A bug in the proxy or moto unreachable: say so loudly, in IAM's shape.
      process.stderr.write(`[moto-iam-proxy] ${req.method} ${req.url}: ${String(err)}\n`);
      const reply = errorReply('iam', new IamError(500, 'ServiceFailure', `moto-iam-proxy: ${String(err)}`));
      if (!res.headersSent) res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    actions,
    answers,
    faults: {
      add: (fault) => {
        let arrive = () => {};
        const arrived = new Promise<void>((resolve) => {
          arrive = resolve;
        });
        let release = () => {};
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const entry: FaultEntry = {
          ...fault,
          left: fault.times ?? Number.POSITIVE_INFINITY,
          hits: 0,
          arrive,
          released,
        };
        faults.push(entry);
        return {
          get hits() {
            return entry.hits;
          },
          arrived,
          release,
        };
      },
      clear: () => {
        faults.length = 0;
      },
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface FaultEntry extends MotoIamFault {
  left: number;
  hits: number;
  /** Resolves the handle's `arrived`. */
  arrive: () => void;
  /** Resolves on the handle's `release()`. */
  released: Promise<void>;
}

/**
 * Holds a request until its caller goes away (undefined: nothing is
 * answered, and a request not forwarded is never carried out) or the fault
 * is released (the answer, the request carried out now if it was not yet).
 */
async function hold(
  fault: FaultEntry,
  res: ServerResponse,
  answer: () => Promise<Reply>,
): Promise<Reply | undefined> {
  const gone = new Promise<false>((resolve) => res.once('close', () => resolve(false)));
  const early = fault.forward ? await answer() : undefined;
  fault.arrive();
  const released = await Promise.race([fault.released.then(() => true as const), gone]);
  if (!released) return undefined;
  return early ?? (await answer());
}

// ---------------------------------------------------------------------------
// The two synthetic actions

async function changeClientIds(
  moto: URL,
  authorization: OwnAuth,
  action: string,
  params: URLSearchParams,
): Promise<Reply> {
  const arn = params.get('OpenIDConnectProviderArn');
  const clientId = params.get('ClientID');
  if (arn === null) throw validationError(arn, 'openIDConnectProviderArn', 'Member must not be null');
  if (clientId === null) throw validationError(clientId, 'clientID', 'Member must not be null');
  if (clientId.length < 1) {
    throw validationError(clientId, 'clientID', 'Member must have length greater than or equal to 1');
  }
  if (clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw validationError(
      clientId,
      'clientID',
      `Member must have length less than or equal to ${MAX_CLIENT_ID_LENGTH}`,
    );
  }

  const call = (p: Record<string, string>) => callMoto(moto, authorization, p);
  const got = await call({ Action: 'GetOpenIDConnectProvider', OpenIDConnectProviderArn: arn });
  if (got.status === 404)
    throw new IamError(404, 'NoSuchEntity', `OpenIDConnect Provider not found for arn ${arn}`);
  if (got.status !== 200) return got; // moto's own error, as it came
  const provider = parseProvider(String(got.body));

  const adding = action === 'AddClientIDToOpenIDConnectProvider';
  const present = provider.clientIds.includes(clientId);
  if (adding === present) return okReply(action); // idempotent: nothing to change, moto untouched
  const clientIds = adding
    ? [...provider.clientIds, clientId]
    : provider.clientIds.filter((id) => id !== clientId);
  if (clientIds.length > MAX_CLIENT_IDS) {
    throw new IamError(
      409,
      'LimitExceeded',
      `Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: ${MAX_CLIENT_IDS}`,
    );
  }

  const deleted = await call({ Action: 'DeleteOpenIDConnectProvider', OpenIDConnectProviderArn: arn });
  if (deleted.status !== 200) return deleted;
  const created = await call(createParams({ ...provider, clientIds }));
  if (created.status !== 200) {
    // Put the provider back as it was before reporting moto's refusal.
    await call(createParams(provider));
    return created;
  }
  const createdArn = /<OpenIDConnectProviderArn>([^<]*)<\/OpenIDConnectProviderArn>/.exec(
    String(created.body),
  )?.[1];
  if (createdArn === undefined || unescapeXml(createdArn) !== arn) {
    throw new Error(`re-created provider has ARN ${createdArn}, expected ${arn}`);
  }
  return okReply(action);
}

interface Provider {
  url: string;
  clientIds: string[];
  thumbprints: string[];
  tags: Array<{ key: string; value: string }>;
}

function createParams(p: Provider): Record<string, string> {
  const out: Record<string, string> = {
    Action: 'CreateOpenIDConnectProvider',
    // moto keeps the URL without its scheme and derives the ARN from host + path.
    Url: /^https?:\/\//.test(p.url) ? p.url : `https://${p.url}`,
  };
  p.clientIds.forEach((id, i) => {
    out[`ClientIDList.member.${i + 1}`] = id;
  });
  p.thumbprints.forEach((t, i) => {
    out[`ThumbprintList.member.${i + 1}`] = t;
  });
  p.tags.forEach((t, i) => {
    out[`Tags.member.${i + 1}.Key`] = t.key;
    out[`Tags.member.${i + 1}.Value`] = t.value;
  });
  return out;
}

/** Reads moto's GetOpenIDConnectProviderResponse (flat, predictable XML). */
function parseProvider(xml: string): Provider {
  const element = (name: string, within: string) =>
    new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(within)?.[1] ??
    (new RegExp(`<${name}\\s*/>`).test(within) ? '' : undefined);
  const members = (within: string | undefined) =>
    within === undefined
      ? []
      : [...within.matchAll(/<member>([\s\S]*?)<\/member>/g)].map((m) => m[1] as string);
  const url = element('Url', xml);
  if (url === undefined)
    throw new Error(`no <Url> in moto's GetOpenIDConnectProvider answer: ${xml.slice(0, 500)}`);
  return {
    url: unescapeXml(url),
    clientIds: members(element('ClientIDList', xml)).map(unescapeXml),
    thumbprints: members(element('ThumbprintList', xml)).map(unescapeXml),
    tags: members(element('Tags', xml)).map((m) => ({
      key: unescapeXml(element('Key', m) ?? ''),
      value: unescapeXml(element('Value', m) ?? ''),
    })),
  };
}

/** The headers that authenticate one of the proxy's own calls, for its body. */
type OwnAuth = (body: string) => Record<string, string>;
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

async function callMoto(moto: URL, authorization: OwnAuth, params: Record<string, string>): Promise<Reply> {
  const body = new URLSearchParams({ ...params, Version: IAM_VERSION }).toString();
  const res = await fetch(new URL('/', moto), {
    method: 'POST',
    headers: { 'content-type': FORM, ...authorization(body) },
    body,
  });
  return {
    status: res.status,
    headers: { 'content-type': res.headers.get('content-type') ?? 'text/xml' },
    body: await res.text(),
  };
}

/**
 * moto picks the service from the SigV4 credential scope and the account from
 * the access key, so without credentials of its own the proxy's calls carry
 * the caller's Authorization header (a moto that does not enforce IAM checks
 * no signature). Without one it would route to S3.
 */
function authorizationFor(headers: IncomingHttpHeaders): string {
  const auth = headers.authorization;
  if (auth && /Credential=[^/]+\/\d{8}\/[^/]+\/iam\//.test(auth)) return auth;
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  return `AWS4-HMAC-SHA256 Credential=testing/${date}/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0`;
}

/**
 * SigV4 for IAM (us-east-1) over content-type, host and x-amz-date, the way
 * moto checks it (it re-signs the signed headers with botocore).
 */
function sigV4(
  moto: URL,
  body: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/iam/aws4_request`;
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();
  const signedHeaders = 'content-type;host;x-amz-date';
  const canonical = [
    'POST',
    '/',
    '',
    `content-type:${FORM}\nhost:${moto.host}\nx-amz-date:${amzDate}\n`,
    signedHeaders,
    sha256(body),
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of ['us-east-1', 'iam', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    'x-amz-date': amzDate,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

// ---------------------------------------------------------------------------
// User permissions boundaries
//
// moto 5.2.5 ignores PermissionsBoundary on CreateUser and does not implement
// Put/DeleteUserPermissionsBoundary. The proxy keeps a user's boundary in moto
// itself, as a tag with a reserved key (so every proxy in front of the same
// moto sees it), hides that tag from the tags it answers, and shows the
// boundary where IAM does (CreateUser, GetUser).
//
// The caller's request always reaches moto as it came, so that a moto that
// enforces IAM authorises the caller for its own action: CreateUser is
// forwarded and the boundary tagged after it; Put/DeleteUserPermissionsBoundary
// are forwarded first (moto checks IAM before it finds it has no such action,
// and answers HTTP 500 then), and only that 500 makes the proxy tag or untag.
// The tagging is the proxy's own call (see MotoIamProxyOptions.credentials).

const BOUNDARY_TAG = 'moto-iam-proxy/permissions-boundary';
const USER_BOUNDARY_ACTIONS = new Set(
  [
    'CreateUser',
    'GetUser',
    'ListUserTags',
    'PutUserPermissionsBoundary',
    'DeleteUserPermissionsBoundary',
  ].map((a) => `iam:${a}`),
);
const BOUNDARY_TAG_MEMBER = new RegExp(
  `<member>\\s*<Key>${BOUNDARY_TAG}</Key>\\s*<Value>([^<]*)</Value>\\s*</member>`,
);
const POLICY_ARN = /^arn:aws:iam::(\d{12}|aws):policy\/[\w+=,.@/-]+$/;

/** moto's answer to an action it does not implement: its web server's HTML page, status 500. */
const notImplemented = (r: Reply) => r.status === 500 && /^\s*<!doctype html>/i.test(String(r.body));

async function userBoundary(
  moto: URL,
  authorization: OwnAuth,
  action: string,
  params: URLSearchParams,
  forwardAsIs: () => Promise<Reply>,
): Promise<Reply> {
  const call = (p: Record<string, string>) => callMoto(moto, authorization, p);
  const userName = params.get('UserName') ?? '';
  const boundary = params.get('PermissionsBoundary');
  if (boundary !== null && !POLICY_ARN.test(boundary)) {
    return errorReply(
      'iam',
      new IamError(400, 'InvalidInput', `Value (${boundary}) for parameter PermissionsBoundary is invalid.`),
    );
  }
  const tag = () =>
    call({
      Action: 'TagUser',
      UserName: userName,
      'Tags.member.1.Key': BOUNDARY_TAG,
      'Tags.member.1.Value': boundary ?? '',
    });
  const untag = () => call({ Action: 'UntagUser', UserName: userName, 'TagKeys.member.1': BOUNDARY_TAG });
  /** The proxy's own call failed: the caller's action is not done, and says why. */
  const ownCallFailed = (what: string, r: Reply) =>
    r.status === 404
      ? r // NoSuchEntity, as moto says it
      : errorReply(
          'iam',
          new IamError(
            500,
            'ServiceFailure',
            `moto-iam-proxy: ${what} of user ${userName} failed, moto answered HTTP ${r.status} (a moto that enforces IAM needs the proxy started with credentials)`,
          ),
        );
  switch (action) {
    case 'CreateUser': {
      const created = await forwardAsIs();
      if (created.status !== 200 || boundary === null) return showBoundary(created);
      const tagged = await tag();
      return tagged.status === 200
        ? showBoundary(created, boundary)
        : ownCallFailed('tagging the boundary', tagged);
    }
    case 'PutUserPermissionsBoundary':
    case 'DeleteUserPermissionsBoundary': {
      const asked = await forwardAsIs();
      if (!notImplemented(asked)) return asked; // refused by moto (or, one day, done by it)
      const done = action === 'PutUserPermissionsBoundary' ? await tag() : await untag();
      return done.status === 200 ? okReply(action) : ownCallFailed('keeping the boundary', done);
    }
    default:
      return showBoundary(await forwardAsIs());
  }
}

/**
 * The answer without the reserved tag, with the boundary it held (or `boundary`,
 * just tagged) in the <User> element.
 */
function showBoundary(reply: Reply, boundary?: string): Reply {
  if (reply.status !== 200) return reply;
  let xml = String(reply.body);
  const held =
    BOUNDARY_TAG_MEMBER.exec(xml)?.[1] ?? (boundary === undefined ? undefined : escapeXml(boundary));
  if (held === undefined) return reply;
  xml = xml.replace(BOUNDARY_TAG_MEMBER, '');
  xml = xml.replace(
    '</User>',
    `<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType><PermissionsBoundaryArn>${held}</PermissionsBoundaryArn></PermissionsBoundary></User>`,
  );
  const headers = { ...reply.headers };
  delete headers['content-length'];
  return { ...reply, headers, body: xml };
}

// ---------------------------------------------------------------------------
// Plumbing

function forward(moto: URL, req: IncomingMessage, body: Buffer): Promise<Reply> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      { host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers, agent: false },
      (res) => {
        readBody(res).then((data) => {
          const out: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined || HOP_BY_HOP.has(name)) continue;
            out[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: res.statusCode ?? 502, headers: out, body: data });
        }, reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Query-protocol parameters: the form body of a POST, or the query string. */
function requestParams(req: IncomingMessage, body: Buffer): URLSearchParams {
  const params = new URL(req.url ?? '/', 'http://proxy').searchParams;
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
  }
  return params;
}

/** The SigV4 credential scope's service name, else the API version. */
function serviceOf(headers: IncomingHttpHeaders, params: URLSearchParams): string {
  const scoped = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
    headers.authorization ?? '',
  )?.[1];
  if (scoped) return scoped;
  const version = params.get('Version');
  if (version === STS_VERSION) return 'sts';
  if (version === IAM_VERSION) return 'iam';
  return 'unknown';
}

function okReply(action: string): Reply {
  const id = randomUUID();
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id },
    body: `<${action}Response xmlns="${NAMESPACE.iam}"><ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function errorReply(service: string, err: IamError): Reply {
  const id = randomUUID();
  return {
    status: err.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id },
    body:
      `<ErrorResponse xmlns="${NAMESPACE[service] ?? NAMESPACE.iam}"><Error><Type>${err.type}</Type>` +
      `<Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message></Error>` +
      `<RequestId>${id}</RequestId></ErrorResponse>`,
  };
}

/** IAM's wording for a parameter that breaks its model constraints. */
function validationError(value: string | null, member: string, constraint: string): IamError {
  const shown = value === null ? 'null' : `'${value}'`;
  return new IamError(
    400,
    'ValidationError',
    `1 validation error detected: Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e] as string;
  });
}

/** Many readers or one writer, granted in arrival order. */
class ReadWriteLock {
  private readers = 0;
  private writing = false;
  private readonly queue: Array<{ write: boolean; wake: () => void }> = [];

  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(false, fn);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(true, fn);
  }

  private async run<T>(write: boolean, fn: () => Promise<T>): Promise<T> {
    await new Promise<void>((wake) => {
      this.queue.push({ write, wake });
      this.grant();
    });
    try {
      return await fn();
    } finally {
      if (write) this.writing = false;
      else this.readers -= 1;
      this.grant();
    }
  }

  private grant(): void {
    for (let next = this.queue[0]; next; next = this.queue[0]) {
      if (this.writing || (next.write && this.readers > 0)) return;
      this.queue.shift();
      if (next.write) this.writing = true;
      else this.readers += 1;
      next.wake();
    }
  }
}
