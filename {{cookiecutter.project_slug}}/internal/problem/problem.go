// Package problem describes what went wrong with a request as problem
// details (RFC 9457): a JSON object of media type application/problem+json
// whose status and title say what kind of problem it is, whose detail says
// what went wrong with this request, and whose errors (an extension) name
// each wrong part of the request. The service's handlers answer every error
// with one, whether they are written by hand or generated.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ContentType is the media type of problem details.
const ContentType = "application/problem+json"

// Details is one problem, as the JSON object of RFC 9457.
type Details struct {
	// Type names the kind of problem: always "about:blank", which says that
	// the status says it all.
	Type   string `json:"type"`
	Title  string `json:"title"`  // the status's text
	Status int    `json:"status"` // the HTTP status code
	// Detail says what went wrong with this request, if there is more to
	// say than the title does.
	Detail string `json:"detail,omitempty"`
	// Errors names each wrong part of an invalid request.
	Errors []InvalidField `json:"errors,omitempty"`
}

// InvalidField is one wrong part of a request, and why: a parameter by its
// name, or a value of the JSON body by its JSON Pointer.
type InvalidField struct {
	Detail    string `json:"detail"`
	Pointer   string `json:"pointer,omitempty"`   // "#/text"; "#" for the whole body
	Parameter string `json:"parameter,omitempty"` // the name of a path, query or header parameter
}

// New returns the problem of an answer with status: its title is the
// status's text, and detail (if not "") says what went wrong.
func New(status int, detail string) Details {
	return Details{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

// Invalid returns the problem of an invalid request (400), which names each
// wrong part in fields.
func Invalid(fields ...InvalidField) Details {
	p := New(http.StatusBadRequest, "The request is not valid: errors names each wrong part.")
	p.Errors = fields
	return p
}

// TooLarge returns the problem of a request whose body is longer than limit
// bytes (413).
func TooLarge(limit int64) Details {
	return New(http.StatusRequestEntityTooLarge, "The request body is longer than "+strconv.FormatInt(limit, 10)+" bytes.")
}

// UnsupportedMediaType returns the problem of a request whose body is not of
// the media type want (415).
func UnsupportedMediaType(want string) Details {
	return New(http.StatusUnsupportedMediaType, "The request body must be "+want+".")
}

// Body returns the wrong part of the JSON body at the JSON Pointer that
// tokens make (none: the whole body).
func Body(detail string, tokens ...string) InvalidField {
	return InvalidField{Detail: detail, Pointer: Pointer(tokens...)}
}

// Parameter returns the wrong parameter name.
func Parameter(name, detail string) InvalidField {
	return InvalidField{Detail: detail, Parameter: name}
}

// Pointer returns the JSON Pointer (RFC 6901) of the value at tokens, as a
// URI fragment: "#/text" for the property text, "#" for the whole document.
func Pointer(tokens ...string) string {
	var pointer strings.Builder
	escape := strings.NewReplacer("~", "~0", "/", "~1")
	for _, token := range tokens {
		pointer.WriteString("/" + escape.Replace(token))
	}
	return "#" + (&url.URL{Fragment: pointer.String()}).EscapedFragment()
}

// Write answers p: its status, as application/problem+json. nosniff stops
// browsers from reading the answer as anything else.
func Write(w http.ResponseWriter, p Details) error {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	if err := json.NewEncoder(w).Encode(p); err != nil {
		return fmt.Errorf("encode problem: %w", err)
	}
	return nil
}
