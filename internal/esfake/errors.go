package esfake

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// esError is an Elasticsearch-shaped error response.
type esError struct {
	Status int
	Type   string
	Reason string
	Extra  map[string]any // additional fields of the cause, e.g. "index"
}

func (e *esError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Reason) }

func badRequest(typ, format string, args ...any) *esError {
	return &esError{Status: http.StatusBadRequest, Type: typ, Reason: fmt.Sprintf(format, args...)}
}

// parsing reports a malformed query, as Elasticsearch does with a 400
// parsing_exception.
func parsing(format string, args ...any) *esError {
	return badRequest("parsing_exception", format, args...)
}

func illegalArgument(format string, args ...any) *esError {
	return badRequest("illegal_argument_exception", format, args...)
}

func indexNotFound(index string) *esError {
	return &esError{Status: http.StatusNotFound, Type: "index_not_found_exception",
		Reason: fmt.Sprintf("no such index [%s]", index),
		Extra: map[string]any{"index": index, "resource.type": "index_or_alias",
			"resource.id": index, "index_uuid": "_na_"}}
}

func (e *esError) body() map[string]any {
	cause := map[string]any{"type": e.Type, "reason": e.Reason}
	for k, v := range e.Extra {
		cause[k] = v
	}
	top := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		top[k] = v
	}
	return map[string]any{"error": top, "status": e.Status}
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*esError)
	if !ok {
		e = &esError{Status: http.StatusInternalServerError, Type: "exception", Reason: err.Error()}
	}
	writeJSON(w, e.Status, e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
