{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "starlane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name of the operator's objects. */}}
{{- define "starlane.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "starlane.operatorName" -}}
{{- printf "%s-operator" (include "starlane.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "starlane.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: starlane
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "starlane.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "starlane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "starlane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "starlane.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "starlane.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The operator's rules on its own resources, in a ClusterRole or in one Role per watched namespace. */}}
{{- define "starlane.resourceRules" }}
{{- /* Exactly what the operator sends: server-side apply (patch) of Topics and their status, reads
of Clusters (their status names the Starlane cluster), Events. topics/finalizers: update is the
permission clusters with OwnerReferencesPermissionEnforcement ask of whoever sets finalizers. The
Cluster reconciler will add its own verbs when it arrives. */}}
- apiGroups: ["starlane.dev"]
  resources: ["topics"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["starlane.dev"]
  resources: ["topics/status"]
  verbs: ["patch"]
- apiGroups: ["starlane.dev"]
  resources: ["topics/finalizers"]
  verbs: ["update"]
- apiGroups: ["starlane.dev"]
  resources: ["clusters"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
