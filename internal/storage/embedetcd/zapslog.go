package embedetcd

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogCore is a zapcore.Core that forwards etcd's zap records to a
// slog.Logger, so etcd logs where the rest of skiff logs.
type slogCore struct {
	log   *slog.Logger
	level zapcore.Level
	attrs []any // fields added by With, already converted
	// closing is set by Server.Close: etcd then reports its listeners
	// shutting down as errors ("http: Server closed"), which are expected,
	// so records are demoted to warnings.
	closing *atomic.Bool
}

func newZapLogger(log *slog.Logger, level zapcore.Level, closing *atomic.Bool) *zap.Logger {
	return zap.New(&slogCore{log: log, level: level, closing: closing})
}

// benign are etcd errors that are expected on a healthy single member:
// on a new data dir, etcd 3.7 tries to record the storage schema version
// before the first raft term is persisted, fails, and succeeds on its next
// try. They are logged at info.
var benign = map[string]bool{
	"failed to update storage version": true,
	"Failed to detect schema version":  true,
}

func (c *slogCore) effective(e zapcore.Entry) zapcore.Level {
	l := e.Level
	if l > zapcore.InfoLevel && benign[e.Message] {
		return zapcore.InfoLevel
	}
	if l > zapcore.WarnLevel && c.closing.Load() {
		return zapcore.WarnLevel
	}
	return l
}

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.level }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	attrs := make([]any, 0, len(c.attrs)+2*len(fields))
	attrs = append(attrs, c.attrs...)
	attrs = append(attrs, fieldsToAttrs(fields)...)
	return &slogCore{log: c.log, level: c.level, attrs: attrs, closing: c.closing}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(c.effective(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	args := make([]any, 0, len(c.attrs)+2*len(fields))
	args = append(args, c.attrs...)
	args = append(args, fieldsToAttrs(fields)...)
	c.log.Log(context.Background(), slogLevel(c.effective(e)), e.Message, args...)
	return nil
}

func (c *slogCore) Sync() error { return nil }

func fieldsToAttrs(fields []zapcore.Field) []any {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make([]any, 0, 2*len(enc.Fields))
	for k, v := range enc.Fields {
		out = append(out, slog.Any(k, v))
	}
	return out
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}
