package openapi

import "k8s.io/kube-openapi/pkg/validation/spec"

// Query and path parameters as kube-apiserver documents them. Descriptions
// are short; clients only look at names, places and types.

func param(in, name, typ, desc string) spec.Parameter {
	p := spec.Parameter{}
	p.In = in
	p.Name = name
	p.Description = desc
	p.Type = typ
	p.UniqueItems = true
	if in == "path" {
		p.Required = true
	}
	return p
}

func query(name, typ, desc string) spec.Parameter { return param("query", name, typ, desc) }

func bodyParam(schemaRef string, required bool) spec.Parameter {
	p := spec.Parameter{}
	p.In = "body"
	p.Name = "body"
	p.Required = required
	p.Schema = spec.RefSchema(v2RefPrefix + schemaRef)
	return p
}

var (
	paramPretty    = query("pretty", "string", "If 'true', then the output is pretty printed.")
	paramNamespace = param("path", "namespace", "string", "object name and auth scope, such as for teams and projects")
	paramDryRun    = query("dryRun", "string", "When present, indicates that modifications should not be persisted. Valid value: All.")
	paramFieldMgr  = query("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes.")
	// paramFieldValidation on PATCH tells kubectl that the server validates
	// fields itself (cli-runtime's QueryParamVerifierV3).
	paramFieldValidation = query("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request "+
		"containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.")
	paramForce = query("force", "boolean", "Force is going to \"force\" Apply requests: the request is re-acquired from other managers on conflict. Must be unset for non-apply patch requests.")

	paramAllowBookmarks   = query("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\".")
	paramContinue         = query("continue", "string", "The continue option should be set when retrieving more results from the server.")
	paramFieldSelector    = query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything.")
	paramLabelSelector    = query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything.")
	paramLimit            = query("limit", "integer", "limit is a maximum number of responses to return for a list call.")
	paramResourceVersion  = query("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from.")
	paramRVMatch          = query("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls.")
	paramSendInitial      = query("sendInitialEvents", "boolean", "sendInitialEvents=true may be set together with watch=true to begin the watch stream with synthetic events for all existing objects.")
	paramTimeoutSeconds   = query("timeoutSeconds", "integer", "Timeout for the list/watch call.")
	paramWatch            = query("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.")
	paramGracePeriod      = query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted.")
	paramIgnoreStoreRead  = query("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean", "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.")
	paramOrphan           = query("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy.")
	paramPropagation      = query("propagationPolicy", "string", "Whether and how garbage collection will be performed: Orphan, Background or Foreground.")
	listParams            = []spec.Parameter{paramAllowBookmarks, paramContinue, paramFieldSelector, paramLabelSelector, paramLimit, paramResourceVersion, paramRVMatch, paramSendInitial, paramTimeoutSeconds, paramWatch}
	deleteCollectionQuery = []spec.Parameter{paramContinue, paramDryRun, paramFieldSelector, paramGracePeriod, paramIgnoreStoreRead, paramLabelSelector, paramLimit, paramOrphan, paramPropagation, paramResourceVersion, paramRVMatch, paramSendInitial, paramTimeoutSeconds}
	deleteQuery           = []spec.Parameter{paramDryRun, paramGracePeriod, paramIgnoreStoreRead, paramOrphan, paramPropagation}
	writeQuery            = []spec.Parameter{paramDryRun, paramFieldMgr, paramFieldValidation}

	logParams = []spec.Parameter{
		query("container", "string", "The container for which to stream logs. Defaults to only container if there is one container in the pod."),
		query("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
		query("insecureSkipTLSVerifyBackend", "boolean", "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to."),
		query("limitBytes", "integer", "If set, the number of bytes to read from the server before terminating the log output."),
		query("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
		query("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs."),
		query("stream", "string", "Specify which container log stream to return to the client: All, Stdout or Stderr."),
		query("tailLines", "integer", "If set, the number of lines from the end of the logs to show."),
		query("timestamps", "boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output."),
	}
)

func concatParams(lists ...[]spec.Parameter) []spec.Parameter {
	var out []spec.Parameter
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
