"""moto's server, authorising ECR, ECS, Secrets Manager and CloudFormation calls
on the resource AWS authorises them on.

Run with the python of moto's venv, with moto_server's arguments
(testbed/moto.ts, startMoto({ enforceResources: true })).

Why: with IAM enforcement on (POST /moto-api/reset-auth), moto 5.2.5 checks the
caller's policies but passes Resource "*" for every service that has no
`_determine_resource` of its own (only IAM, STS, SQS; S3 has its own bucket and
object ARNs). A policy scoped to ARNs, as the grant presets are, then refuses
every call. This adds `_determine_resource` to the four response classes the
presets' jobs use, returning the ARN that the AWS Service Authorization
Reference names for each action, and leaves moto's own code as it is.

The resource types, from the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/):
- list_amazonelasticcontainerregistry.html: BatchCheckLayerAvailability,
  BatchGetImage, CompleteLayerUpload, GetDownloadUrlForLayer,
  InitiateLayerUpload, PutImage, UploadLayerPart, DescribeImages,
  DescribeRepositories: `repository*`
  (arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName});
  GetAuthorizationToken: no resource type, so "*".
- list_amazonelasticcontainerservice.html: UpdateService, DescribeServices,
  CreateService, DeleteService: `service*`
  (arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName});
  RegisterTaskDefinition, DescribeTaskDefinition: no resource type, so "*".
- list_awssecretsmanager.html: GetSecretValue, DescribeSecret: `Secret*`
  (arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId},
  the full ARN with its six-character suffix).
- list_awscloudformation.html: CreateChangeSet, DescribeChangeSet,
  ExecuteChangeSet, DeleteChangeSet, DescribeStacks, DescribeStackEvents,
  GetTemplateSummary, CreateStack, UpdateStack, DeleteStack: `stack`
  (arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}).
  A stack that does not exist yet has no Id; policies name it
  stack/NAME/*, and so does this resource (stack/NAME/*), which matches such a
  policy and no policy naming another stack.
- list_amazons3.html: ListBucket on `bucket`, PutObject and DeleteObject on
  `object`: moto's S3 already authorises so (test/testbed/moto-scoped.test.ts).

IAM's wildcards: moto turns `*` into a regular expression's `.*` and leaves
every other character to the regular expression, so `?` (one character in IAM,
e.g. secret:payments/db-?????? for the secret's random suffix) breaks the match
or the server, and `.` matches any character. Patterns are matched here as IAM
does: `*` any run of characters, `?` exactly one, everything else literally.

Conditions of identity policies: moto evaluates them without a request
context, so StringEquals on a key the request lacks passes, and an Allow
statement whose condition fails counts as an explicit Deny. Here a statement's
StringEquals, StringLike, ArnEquals and ArnLike are evaluated against the
keys the request carries (so far cloudformation:RoleArn, the RoleARN of
CreateChangeSet, CreateStack and UpdateStack: the cloudFormationDeploy
preset's condition); a key the request lacks matches nothing, as in AWS; an
Allow whose condition fails only does not allow. Other operators are left to
moto. Trust policies (moto's sts:AssumeRole check) are evaluated as before.

Also, AWS does not sign sts:AssumeRoleWithWebIdentity (nor AssumeRoleWithSAML):
the token is the credential. moto, with enforcement on, reads the
Authorization header of every request and fails with a 500 without it; the
unsigned call is let through here, signed ones are checked as before.
"""

import re
import sys
import threading

from moto import settings
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.ecr.responses import ECRResponse
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.server import main
from moto.sts.responses import TokenResponse
from moto.utilities.utils import get_partition


def _arn(response: BaseResponse, service: str, resource: str, account: str | None = None) -> str:
    return f"arn:{get_partition(response.region)}:{service}:{response.region}:{account or response.current_account}:{resource}"


def _last(name_or_arn: str) -> str:
    """A name given as a name or as an ARN (…:cluster/NAME, …:service/CLUSTER/NAME)."""
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


# ECR: every action that names a repository is authorised on it.
def _ecr_resources(self: ECRResponse) -> list[str]:
    names = [self._get_param("repositoryName")] if self._get_param("repositoryName") else []
    names += self._get_param("repositoryNames") or []
    account = self._get_param("registryId")
    return [_arn(self, "ecr", f"repository/{name}", account) for name in names] or ["*"]


# ECS: services on their cluster; task definitions have no resource-level permissions.
ECS_SERVICE_ACTIONS = {"UpdateService", "DescribeServices", "CreateService", "DeleteService"}


def _ecs_resources(self: EC2ContainerServiceResponse) -> list[str]:
    action = self._get_action()
    if action not in ECS_SERVICE_ACTIONS:
        return ["*"]
    cluster = _last(self._get_param("cluster") or "default")
    names = self._get_param("services") if action == "DescribeServices" else [self._get_param("service") or self._get_param("serviceName")]
    return [_arn(self, "ecs", f"service/{cluster}/{_last(name)}") for name in names or [] if name] or ["*"]


# Secrets Manager: the secret's full ARN, found by name or (partial) ARN; "*" when there is none,
# which a scoped policy never matches (AWS, too, answers AccessDenied for a secret one may not read).
def _secretsmanager_resources(self: SecretsManagerResponse) -> list[str]:
    secret_id = self._get_param("SecretId")
    if not secret_id:
        return ["*"]
    secret = self.backend.secrets.get(secret_id)
    return [secret.arn if secret is not None else "*"]


# CloudFormation: the stack, by StackName (name or ARN) or through the change set's ARN.
def _cloudformation_resources(self: CloudFormationResponse) -> list[str]:
    backend = self.cloudformation_backend
    stack_name = self._get_param("StackName")
    change_set = self._get_param("ChangeSetName")
    if not stack_name and change_set and change_set in backend.change_sets:
        return [backend.change_sets[change_set].stack_id]
    if not stack_name:
        return ["*"]
    for stack in backend.stacks.values():
        if stack_name in (stack.name, stack.stack_id):
            return [stack.stack_id]
    if stack_name.startswith("arn:"):
        return [stack_name]
    return [_arn(self, "cloudformation", f"stack/{stack_name}/*")]


def _cloudformation_context(self: CloudFormationResponse) -> dict[str, str]:
    role = self._get_param("RoleARN")
    return {"cloudformation:RoleArn": role} if role else {}


# The request context of the request being authorised (werkzeug serves each in a thread).
_request = threading.local()


def _install(cls: type, resources, context=lambda self: {}) -> None:
    def _determine_resource(self) -> str:
        self._gao_resources = resources(self)
        return self._gao_resources[0]

    def _authenticate_and_authorize_normal_action(self, resource: str = "*") -> None:
        # moto authorises one resource per call; DescribeServices and
        # DescribeRepositories may name several, and AWS needs each allowed.
        # Checked only while enforcing: a call still within the unauthenticated
        # count must count once.
        enforcing = ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
        _request.context = {k.lower(): v for k, v in context(self).items()}
        try:
            ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, resource)
            for other in getattr(self, "_gao_resources", [])[1:] if enforcing else []:
                ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, other)
        finally:
            _request.context = None

    cls._determine_resource = _determine_resource
    cls._authenticate_and_authorize_normal_action = _authenticate_and_authorize_normal_action


_install(ECRResponse, _ecr_resources)
_install(EC2ContainerServiceResponse, _ecs_resources)
_install(SecretsManagerResponse, _secretsmanager_resources)
_install(CloudFormationResponse, _cloudformation_resources, _cloudformation_context)

UNSIGNED_STS_ACTIONS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
_sts_authorize = TokenResponse._authenticate_and_authorize_normal_action


def _sts_authenticate_and_authorize(self: TokenResponse, resource: str = "*") -> None:
    if self._get_action() in UNSIGNED_STS_ACTIONS and "Authorization" not in self.headers:
        return
    _sts_authorize(self, resource)


TokenResponse._authenticate_and_authorize_normal_action = _sts_authenticate_and_authorize


def _iam_match(pattern: str, string: str) -> re.Match[str] | None:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.match(f"^{regex}$", string, re.DOTALL)


IAMPolicyStatement._match = staticmethod(_iam_match)

_OPERATORS = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": lambda expected, actual: _iam_match(expected, actual) is not None,
    "ArnEquals": lambda expected, actual: expected == actual,
    "ArnLike": lambda expected, actual: _iam_match(expected, actual) is not None,
}
_moto_check_conditions = IAMPolicyStatement._check_conditions
_moto_is_action_permitted = IAMPolicyStatement.is_action_permitted


def _check_conditions(self: IAMPolicyStatement, incoming: dict[str, str] | None) -> bool:
    context = getattr(_request, "context", None)
    conditions = self._statement.get("Condition") or {}
    # Identity policies only (moto passes no values for them), and operators this knows.
    if incoming is not None or context is None or not set(conditions) <= set(_OPERATORS):
        return _moto_check_conditions(self, incoming)
    for operator, keys in conditions.items():
        for key, expected in keys.items():
            actual = context.get(key.lower())
            expected = expected if isinstance(expected, list) else [expected]
            if actual is None or not any(_OPERATORS[operator](e, actual) for e in expected):
                return False
    return True


def _is_action_permitted(self: IAMPolicyStatement, *args, **kwargs) -> PermissionResult:
    result = _moto_is_action_permitted(self, *args, **kwargs)
    # An Allow that does not apply allows nothing; it never denies.
    if result == PermissionResult.DENIED and self._statement.get("Effect") == "Allow":
        return PermissionResult.NEUTRAL
    return result


IAMPolicyStatement._check_conditions = _check_conditions
IAMPolicyStatement.is_action_permitted = _is_action_permitted

if __name__ == "__main__":
    main(sys.argv[1:])
