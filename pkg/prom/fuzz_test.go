package prom

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// FuzzDecode decodes one body with the scanner (and its fallback), as the client does, and with
// encoding/json alone: both fail, or both succeed with the same answer, NaN equal to NaN, and
// neither panics.
func FuzzDecode(f *testing.F) {
	for _, result := range []string{
		`"resultType":"vector","result":[]`,
		`"resultType":"vector","result":null`,
		`"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1700000000.123,"NaN"]},{"metric":{"a":"2"},"value":[1700000000.1,"+Inf"]},{"metric":{},"value":[1700000000.12,"-0"]}]`,
		`"resultType":"vector","result":[{"metric":{"q":"say \"hi\"","b":"C:\\dir\\","u":"caf\u00e9 \ud83d\ude00","s":"a\/b\tc\n","raw":"café 😀","e":""},"value":[1,"1"]}]`,
		`"resultType":"vector","result":[{"metric":{"k\u0041":"v"},"value":[1,"1"]}]`,
		`"resultType":"vector","result":[{"metric":{"a":"1","b":"x","a":"2"},"value":[1,"1"]}]`,
		`"result":[{"value":[1700000000.001,"2"],"metric":{"b":"x","a":"y"}}],"resultType":"vector"`,
		"\n \"resultType\" : \"vector\" ,\n\t\"result\" : [ { \"metric\" : { \"a\" : \"b\" } , \"value\" : [ 1700000000.25 , \"3\" ] } ] \n",
		`"resultType":"vector","result":[{"metric":{"a":"1"},"value":[-1.5,"1"]},{"metric":{"a":"2"},"value":[1700000000.1239,"1"]}]`,
		`"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"h"},"histogram":[1700000000.5,{"count":"3","sum":"4.5","buckets":[[1,"0.5","1","2"]]}]}]`,
		`"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"1"]}],"stats":{"timings":{"evalTotalTime":0.1}}`,
		`"resultType":"matrix","result":[{"metric":{"a":"x\"y"},"values":[[1700000000,"1"],[1700000030.5,"NaN"],[1700000060,"+Inf"]]},{"metric":{},"values":[]}]`,
		`"resultType":"matrix","result":[{"metric":{"a":"h"},"histograms":[[1700000000,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]]}]`,
		`"resultType":"scalar","result":[1700000000,"2"]`,
		`"resultType":"string","result":[1,"s"]`,
	} {
		f.Add(`{"status":"success","data":{` + result + `},"warnings":["w"],"infos":["i"]}`)
	}
	for _, body := range []string{
		`{"status":"error","errorType":"bad_data","error":"1:8: parse error"}`,
		`{"status":"error"}`,
		`not json`,
		`{"status":"success","data":{"resultType":"vector","result":[]}} trailing`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"x"]}]}}`,
		string(ruleAnswer(3)),
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, want := range []string{vectorType, matrixType} {
			got, gotErr := decodeEnvelope([]byte(body), want, newLabelCache())
			std, stdErr := decodeStd([]byte(body), want)
			if (gotErr == nil) != (stdErr == nil) {
				t.Fatalf("%s: scanner %v, encoding/json %v", want, gotErr, stdErr)
			}
			if gotErr != nil {
				continue
			}
			if d := sameAnswer(got, std); d != "" {
				t.Fatalf("%s: %s", want, d)
			}
		}
	})
}

// sameAnswer reports how two decoded answers differ.
func sameAnswer(got, want answer) string {
	if got.status != want.status || got.errorType != want.errorType || got.errorMsg != want.errorMsg || got.resultType != want.resultType {
		return fmt.Sprintf("envelope %q %q %q %q, want %q %q %q %q", got.status, got.errorType, got.errorMsg, got.resultType, want.status, want.errorType, want.errorMsg, want.resultType)
	}
	if !reflect.DeepEqual(got.warnings, want.warnings) || !reflect.DeepEqual(got.infos, want.infos) {
		return fmt.Sprintf("warnings %q infos %q, want %q %q", got.warnings, got.infos, want.warnings, want.infos)
	}
	if len(got.vector) != len(want.vector) {
		return fmt.Sprintf("%d samples, want %d", len(got.vector), len(want.vector))
	}
	for i := range got.vector {
		g, w := got.vector[i], want.vector[i]
		if !labels.Equal(g.Metric, w.Metric) || !(g.Value == w.Value || g.Value != g.Value && w.Value != w.Value) {
			return fmt.Sprintf("sample %d = %v %v, want %v %v", i, g.Metric, g.Value, w.Metric, w.Value)
		}
	}
	return sameMatrix(got.matrix, want.matrix)
}
