package prom

import (
	"bytes"
	"testing"
)

// TestLabelsOutliveTheBody: the decoder reads names and values as views of the body, so the
// label sets it returns must hold copies. Overwriting the body after decoding changes nothing.
func TestLabelsOutliveTheBody(t *testing.T) {
	body := []byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"cluster":"shop_checkout","namespace":"shop"},"value":[1700000000,"1"]}]}}`)
	got, err := decodeEnvelope(body, vectorType, newLabelCache())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.vector) != 1 {
		t.Fatalf("%d samples, want 1", len(got.vector))
	}
	before := got.vector[0].Metric.String()
	copy(body, bytes.Repeat([]byte("x"), len(body)))
	if after := got.vector[0].Metric.String(); after != before || before != `{cluster="shop_checkout", namespace="shop"}` {
		t.Errorf("labels %s became %s once the body was overwritten", before, after)
	}
}
