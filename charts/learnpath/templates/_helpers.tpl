{{/* The chart name, overridable. */}}
{{- define "learnpath.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: names every namespaced object of the release. */}}
{{- define "learnpath.fullname" -}}
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

{{/*
Name of cluster-scoped objects (ClusterRole, ClusterRoleBinding): prefixed with the release
namespace, so that releases of the same name in different namespaces never collide.
*/}}
{{- define "learnpath.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "learnpath.fullname" .) }}
{{- end }}

{{- define "learnpath.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "learnpath.selectorLabels" -}}
app.kubernetes.io/name: {{ include "learnpath.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels of everything the release owns. */}}
{{- define "learnpath.commonLabels" -}}
helm.sh/chart: {{ include "learnpath.chart" . }}
app.kubernetes.io/name: {{ include "learnpath.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: learnpath
{{- end }}

{{/* Labels of the operator's objects (its pods carry them, its Service selects on them). */}}
{{- define "learnpath.labels" -}}
{{ include "learnpath.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "learnpath.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "learnpath.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the operator must hold the Lease: asked for, or more than one replica. */}}
{{- define "learnpath.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{- define "learnpath.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The metadata lines of a CRD: kept on uninstall unless crds.keep is false. */}}
{{- define "learnpath.crdMetadata" -}}
{{- if .Values.crds.keep }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}
labels:
  {{- include "learnpath.commonLabels" . | nindent 2 }}
{{- end }}

{{/* The restricted Pod Security Standard, plus a read-only root filesystem. */}}
{{- define "learnpath.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.securityContext.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.securityContext.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "learnpath.containerSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.securityContext.runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .Values.securityContext.runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}
