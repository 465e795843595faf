package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// eventColumns are shared by core/v1 and events.k8s.io/v1 events: kube
// stores both as the same internal Event and prints them alike.
func eventColumns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		col("Last Seen", "string", doc["lastTimestamp"]),
		col("Type", "string", doc["type"]),
		col("Reason", "string", doc["reason"]),
		col("Object", "string", doc["involvedObject"]),
		wide(col("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
		wide(col("Source", "string", doc["source"])),
		col("Message", "string", doc["message"]),
		wide(col("First Seen", "string", doc["firstTimestamp"])),
		wide(col("Count", "string", doc["count"])),
		wide(metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc("name")}),
	}
}

func coreEventPrinter() Printer {
	return typed(eventColumns(), eventCells)
}

func eventsV1Printer() Printer {
	return typed(eventColumns(), func(ev *eventsv1.Event, now time.Time) ([]interface{}, error) {
		return eventCells(coreEventFromV1(ev), now)
	})
}

func eventCells(ev *corev1.Event, now time.Time) ([]interface{}, error) {
	firstSeen := since(ev.FirstTimestamp, now)
	if ev.FirstTimestamp.IsZero() {
		firstSeen = sinceMicro(ev.EventTime, now)
	}
	lastSeen := since(ev.LastTimestamp, now)
	if ev.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := ev.Count
	if ev.Series != nil {
		lastSeen = sinceMicro(ev.Series.LastObservedTime, now)
		count = ev.Series.Count
	} else if count == 0 {
		// Singleton events of the new API carry no count.
		count = 1
	}
	target := strings.ToLower(ev.InvolvedObject.Kind)
	if ev.InvolvedObject.Name != "" {
		target = fmt.Sprintf("%s/%s", target, ev.InvolvedObject.Name)
	}
	return []interface{}{
		lastSeen,
		ev.Type,
		ev.Reason,
		target,
		ev.InvolvedObject.FieldPath,
		eventSource(ev.Source, ev.ReportingController, ev.ReportingInstance),
		strings.TrimSpace(ev.Message),
		firstSeen,
		int64(count),
		ev.Name,
	}, nil
}

// eventSource is "component, host", falling back to the reporting
// controller and instance, without the host part when it is empty.
func eventSource(es corev1.EventSource, controller, instance string) string {
	component := firstNonEmpty(es.Component, controller)
	host := firstNonEmpty(es.Host, instance)
	if host == "" {
		return component
	}
	return component + ", " + host
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// coreEventFromV1 maps an events.k8s.io/v1 Event onto the core/v1 fields
// the printer reads, the way kube converts both to its internal Event.
func coreEventFromV1(ev *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          ev.ObjectMeta,
		InvolvedObject:      ev.Regarding,
		Reason:              ev.Reason,
		Message:             ev.Note,
		Source:              ev.DeprecatedSource,
		FirstTimestamp:      ev.DeprecatedFirstTimestamp,
		LastTimestamp:       ev.DeprecatedLastTimestamp,
		Count:               ev.DeprecatedCount,
		Type:                ev.Type,
		EventTime:           ev.EventTime,
		Action:              ev.Action,
		Related:             ev.Related,
		ReportingController: ev.ReportingController,
		ReportingInstance:   ev.ReportingInstance,
	}
	if ev.Series != nil {
		out.Series = &corev1.EventSeries{Count: ev.Series.Count, LastObservedTime: ev.Series.LastObservedTime}
	}
	return out
}
