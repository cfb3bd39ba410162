package envoysim

import (
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
)

// Handler serves one pod's Envoy admin endpoints: GET /stats/prometheus (also
// /stats?format=prometheus) renders [Fleet.Exposition] at clock() (time.Now when nil), or
// [Fleet.Protobuf] when the Accept header asks for the delimited protobuf exposition (native
// histograms), and /ready answers LIVE. Other paths are 404. Mount it under a prefix with http.StripPrefix to serve several
// pods from one server.
func (f *Fleet) Handler(pod string, d Dialect, clock func() time.Time) http.Handler {
	if clock == nil {
		clock = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch {
		case req.URL.Path == "/ready":
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			_, _ = w.Write([]byte("LIVE\n"))
			return
		case req.URL.Path == "/stats/prometheus",
			req.URL.Path == "/stats" && req.URL.Query().Get("format") == "prometheus":
		default:
			http.NotFound(w, req)
			return
		}
		r, err := f.newRenderer(pod, clock(), d)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if acceptsProtobuf(req.Header.Get("Accept")) {
			w.Header().Set("Content-Type", string(ProtobufFormat))
			if req.Method == http.MethodHead {
				return
			}
			p := &protoSink{enc: expfmt.NewEncoder(w, ProtobufFormat)}
			r.walk(p)
			p.flush()
			return // An error is the client going away; nothing to tell it.
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		if req.Method == http.MethodHead {
			return
		}
		t := &textSink{w: w, blank: d == Stock, buf: make([]byte, 0, textBufSize)}
		r.walk(t)
		_ = t.flush() // The client went away; nothing to tell it.
	})
}
