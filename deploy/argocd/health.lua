-- Argo CD health check for gitlab-aws.io/v1alpha1 GitLabAwsFederation and
-- GitLabConnection (one script for both kinds). Install it as
--   resource.customizations.health.gitlab-aws.io_GitLabAwsFederation
--   resource.customizations.health.gitlab-aws.io_GitLabConnection
-- in argocd-cm (docs/gitops.md). It follows the kstatus conditions the
-- operator writes: Ready (always), Reconciling (work in flight, including a
-- connection waiting for GitLab authorisation) and Stalled (needs a change of
-- spec or a person), each with observedGeneration.
local hs = {}

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted: the operator is cleaning up in AWS and GitLab"
  return hs
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local conditions = obj.status.conditions
local ready = condition(conditions, "Ready")
local reconciling = condition(conditions, "Reconciling")
local stalled = condition(conditions, "Stalled")

-- The status must describe the current spec: status.observedGeneration (set
-- once a generation is fully handled) and the Ready condition's own.
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation ..
    " (status is for generation " .. observed .. ")"
  return hs
end
if generation ~= nil and ready ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = text(stalled, text(ready, "Stalled"))
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  -- Ready's message says what is awaited (e.g. the GitLab authorisation of a
  -- pending connection and where to give it).
  if ready ~= nil and ready.status ~= "True" then
    hs.message = text(ready, text(reconciling, "Reconciling"))
  else
    hs.message = text(reconciling, "Reconciling")
  end
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "Ready")
  return hs
end

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = text(ready, "Not ready")
  return hs
end

hs.status = "Progressing"
hs.message = text(ready, "Waiting for the Ready condition")
return hs
