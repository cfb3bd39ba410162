package plugin

// MultiLine is an error whose message is several lines by design, such as a list of missing
// permissions with the commands that grant them. Main prints any other error on one line, its
// line feeds shown as \n, since an error may quote Prometheus or the API server.
type MultiLine interface {
	error
	MultiLine()
}

// MultiLineError is a MultiLine error made of its message.
type MultiLineError string

func (e MultiLineError) Error() string { return string(e) }

// MultiLine implements MultiLine.
func (MultiLineError) MultiLine() {}
