package deployment

// Internals for the external (integration) tests, which cannot be in
// package deployment: they import testserver, which imports controlplane,
// which imports this package.
var (
	GetCondition    = getCondition
	ComputeHash     = computeHash
	MaxSurge        = maxSurge
	MaxUnavailable  = maxUnavailable
	EqualIgnoreHash = equalIgnoreHash
)

const (
	RevisionAnnotation        = revisionAnnotation
	RevisionHistoryAnnotation = revisionHistoryAnnotation
	DesiredReplicasAnnotation = desiredReplicasAnnotation
	MaxReplicasAnnotation     = maxReplicasAnnotation
	ChangeCauseAnnotation     = changeCauseAnnotation
	ReasonNewRSAvailable      = reasonNewRSAvailable
	ReasonPaused              = reasonPaused
	ReasonTimedOut            = reasonTimedOut
	ReasonMinUnavailable      = reasonMinUnavailable
)
