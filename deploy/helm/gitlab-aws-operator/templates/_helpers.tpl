{{/* Name of the chart, or nameOverride. */}}
{{- define "gao.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: fullnameOverride, else the release name (with the chart name unless it already contains it). */}}
{{- define "gao.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gao.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gao.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gao.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "gao.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "gao.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gao.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gao.leaderElectionId" -}}
{{- default (include "gao.fullname" .) .Values.leaderElection.id -}}
{{- end -}}

{{- define "gao.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The rules the operator needs on its own kinds, Secrets and Events, wherever it
watches (a ClusterRole, or a Role per watched namespace). Derived from src/:
- informers list + watch; finalizers.ts gets + merge-patches the object
  (metadata.finalizers); status.ts merge-patches /status;
- /finalizers update: clusters with OwnerReferencesPermissionEnforcement check
  it when finalizers are set;
- shared/secrets.ts reads the GitLab token and CA Secrets (get only; with
  rbac.secrets.namespaces, only there: see rbac.yaml);
- runtime/events.ts creates core/v1 Events and patches them to fold repeats.
test/helm/rbac.test.ts compares these rules with that list.
*/}}
{{- define "gao.watchRules" -}}
- apiGroups: ["gitlab-aws.io"]
  resources: ["gitlabawsfederations", "gitlabconnections"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["gitlab-aws.io"]
  resources: ["gitlabawsfederations/status", "gitlabconnections/status"]
  verbs: ["patch"]
- apiGroups: ["gitlab-aws.io"]
  resources: ["gitlabawsfederations/finalizers", "gitlabconnections/finalizers"]
  verbs: ["update"]
{{- if not .Values.rbac.secrets.namespaces }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/*
"start size" of an IPv4 CIDR: its first address as a number and how many
addresses it holds.
*/}}
{{- define "gao.cidr4" -}}
{{- $parts := splitList "/" . -}}
{{- $o := splitList "." (first $parts) -}}
{{- $bits := int (last $parts) -}}
{{- $ip := add (mul (atoi (index $o 0)) 16777216) (mul (atoi (index $o 1)) 65536) (mul (atoi (index $o 2)) 256) (atoi (index $o 3)) -}}
{{- $size := 1 -}}
{{- range until (int (sub 32 $bits)) }}{{ $size = mul $size 2 }}{{ end -}}
{{- printf "%d %d" (mul (div $ip $size) $size) $size -}}
{{- end -}}

{{/*
An ipBlock for .cidr with those of .except that it contains (an ipBlock's
except must lie inside its cidr). IPv4 by arithmetic; IPv6 ranges are cut out
of ::/0 only. A cidr inside an excluded range fails the render.
*/}}
{{- define "gao.ipBlock" -}}
{{- $cidr := .cidr -}}
{{- $inside := list -}}
{{- if contains ":" $cidr -}}
{{- if eq $cidr "::/0" -}}
{{- range .except }}{{ if contains ":" . }}{{ $inside = append $inside . }}{{ end }}{{ end -}}
{{- end -}}
{{- else -}}
{{- $c := splitList " " (include "gao.cidr4" $cidr) -}}
{{- $cStart := int64 (index $c 0) -}}
{{- $cEnd := add $cStart (int64 (index $c 1)) -}}
{{- range .except -}}
{{- if not (contains ":" .) -}}
{{- $e := splitList " " (include "gao.cidr4" .) -}}
{{- $eStart := int64 (index $e 0) -}}
{{- $eEnd := add $eStart (int64 (index $e 1)) -}}
{{- if and (ge $cStart $eStart) (le $cEnd $eEnd) -}}
{{- fail (printf "networkPolicy.egress: %s lies inside %s, which the operator must never reach" $cidr .) -}}
{{- end -}}
{{- if and (le $cStart $eStart) (ge $cEnd $eEnd) -}}
{{- $inside = append $inside . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
cidr: {{ $cidr | quote }}
{{- with $inside }}
except:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
