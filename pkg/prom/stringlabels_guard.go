//go:build slicelabels || dedupelabels

package prom

// The decoder hands labels.Builder views of the answer's body (unsafe.String in scanner.view)
// and relies on Prometheus' default stringlabels layout, whose Builder copies every name and
// value into the one string a label set is. Under slicelabels or dedupelabels the views would be
// kept as they are and outlive the body they point into, so such a build stops here.
var _ = decoderNeedsStringlabels // build without the slicelabels and dedupelabels tags
