package manifests

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Delivery says where a stack's alerts go.
type Delivery int

const (
	// DeliverNowhere evaluates the alerts and sends them to no Alertmanager.
	DeliverNowhere Delivery = iota
	// DeliverOwn runs an Alertmanager for the team in its namespace.
	DeliverOwn
	// DeliverShared sends the alerts to an Alertmanager the platform runs.
	DeliverShared
)

// Alerting is where the alerts of a stack go and whom they notify.
type Alerting struct {
	Delivery Delivery
	// The shared Alertmanager resource, and the Service in front of its pods (port web).
	Namespace, Name, Service string
	// ConfigLabels are the labels the shared Alertmanager's alertmanagerConfigSelector matches;
	// the team's AlertmanagerConfig carries them.
	ConfigLabels map[string]string
	// Receivers are notified, each of the severities it takes.
	Receivers []Receiver
	// AlertmanagerVersion pins the team's own Alertmanager.
	AlertmanagerVersion string
}

// DefaultAlertmanagerVersion is the Alertmanager a team's own one runs.
const DefaultAlertmanagerVersion = "v0.35.0"

// DefaultAlertmanagerService is the Service the operator puts in front of every Alertmanager of a
// namespace.
const DefaultAlertmanagerService = "alertmanager-operated"

// AlertmanagerOwn is the --alertmanager value that gives a team an Alertmanager of its own.
const AlertmanagerOwn = "own"

// ParseAlertmanager accepts own or NAMESPACE/NAME, the Alertmanager resource a platform runs.
func ParseAlertmanager(s string) (delivery Delivery, namespace, name string, err error) {
	if s == AlertmanagerOwn {
		return DeliverOwn, "", "", nil
	}
	namespace, name, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(name, "/") {
		return 0, "", "", errors.New("use own, or NAMESPACE/NAME of the platform's Alertmanager resource, such as monitoring/main")
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return 0, "", "", fmt.Errorf("namespace %q: %s", namespace, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return 0, "", "", fmt.Errorf("name %q: %s", name, errs[0])
	}
	return DeliverShared, namespace, name, nil
}

// ReceiverKind is an integration Alertmanager notifies through.
type ReceiverKind string

// The receiver kinds --notify accepts.
const (
	ReceiverSlack     ReceiverKind = "slack"
	ReceiverPagerDuty ReceiverKind = "pagerduty"
	ReceiverWebhook   ReceiverKind = "webhook"
	ReceiverMSTeams   ReceiverKind = "msteams"
	ReceiverEmail     ReceiverKind = "email"
)

var receiverKinds = []ReceiverKind{ReceiverSlack, ReceiverPagerDuty, ReceiverWebhook, ReceiverMSTeams, ReceiverEmail}

// ReceiverKinds lists the kinds --notify accepts, for help texts and completion.
func ReceiverKinds() []string {
	out := make([]string, len(receiverKinds))
	for i, k := range receiverKinds {
		out[i] = string(k)
	}
	return out
}

// SecretRef names a key of a Secret in the team's namespace.
type SecretRef struct{ Name, Key string }

func (r SecretRef) String() string { return r.Name + "/" + r.Key }

// Severities an alert of the stack carries.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
)

// Receiver is one --notify target.
type Receiver struct {
	Kind   ReceiverKind
	Secret SecretRef // the webhook URL, routing key or SMTP password; empty for email without auth
	// Severities this receiver is notified of: critical pages, warning goes to a ticket channel.
	Severities []string
	Channel    string // slack: overrides the webhook's channel
	// email
	To, From, Smarthost, Username string
}

// secretPurpose says what the secret key of a receiver kind holds, for the commands that create it.
func (r Receiver) secretPurpose() string {
	switch r.Kind {
	case ReceiverSlack:
		return "the Slack incoming-webhook URL"
	case ReceiverPagerDuty:
		return "the PagerDuty Events API v2 integration (routing) key"
	case ReceiverWebhook:
		return "the webhook URL"
	case ReceiverMSTeams:
		return "the Microsoft Teams Workflows webhook URL"
	case ReceiverEmail:
		return "the SMTP password"
	}
	return ""
}

// notifyUsage is the grammar of --notify, for errors.
const notifyUsage = "use KIND=SECRET/KEY[,severity=critical|warning][,channel=NAME] with KIND one of slack, pagerduty, webhook, msteams, " +
	"or email=ADDRESS,smarthost=HOST:PORT,from=ADDRESS[,username=NAME,password=SECRET/KEY]"

// ParseReceiver accepts one --notify value:
//
//	slack=SECRET/KEY[,channel=NAME]      the key holds the incoming-webhook URL
//	pagerduty=SECRET/KEY                 the key holds the Events API v2 routing key
//	webhook=SECRET/KEY                   the key holds the URL
//	msteams=SECRET/KEY                   the key holds the Workflows webhook URL
//	email=ADDRESS,smarthost=HOST:PORT,from=ADDRESS[,username=NAME,password=SECRET/KEY]
//
// each with an optional severity=critical|warning (default: both; pagerduty: critical). Secrets
// are referenced in the team's namespace, never inlined.
func ParseReceiver(s string) (Receiver, error) {
	fields := strings.Split(s, ",")
	kind, value, ok := strings.Cut(fields[0], "=")
	if !ok || value == "" {
		return Receiver{}, errors.New(notifyUsage)
	}
	r := Receiver{Kind: ReceiverKind(kind)}
	known := false
	for _, k := range receiverKinds {
		known = known || k == r.Kind
	}
	if !known {
		return Receiver{}, fmt.Errorf("unknown kind %q; use one of %s", kind, strings.Join(ReceiverKinds(), ", "))
	}
	options := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return Receiver{}, fmt.Errorf("option %q: %s", f, notifyUsage)
		}
		if _, dup := options[k]; dup {
			return Receiver{}, fmt.Errorf("option %q is given twice", k)
		}
		options[k] = v
	}
	allowed := map[string]bool{"severity": true}
	var err error
	switch r.Kind {
	case ReceiverEmail:
		for _, k := range []string{"smarthost", "from", "username", "password"} {
			allowed[k] = true
		}
		err = r.parseEmail(value, options)
	case ReceiverSlack:
		allowed["channel"] = true
		if r.Secret, err = ParseSecretRef(value); err == nil {
			r.Channel, err = parseChannel(options["channel"])
		}
	default:
		r.Secret, err = ParseSecretRef(value)
	}
	if err != nil {
		return Receiver{}, err
	}
	for k := range options {
		if !allowed[k] {
			return Receiver{}, fmt.Errorf("option %q does not apply to %s; %s", k, kind, notifyUsage)
		}
	}
	if r.Severities, err = parseSeverity(options["severity"], r.Kind); err != nil {
		return Receiver{}, err
	}
	return r, nil
}

// ParseSecretRef accepts SECRET/KEY: a Secret in the team's namespace and one of its keys.
func ParseSecretRef(s string) (SecretRef, error) {
	return parseSecretRef(s, "slack-webhook/url")
}

// parseSecretRef is ParseSecretRef with an example fit for the flag.
func parseSecretRef(s, example string) (SecretRef, error) {
	name, key, ok := strings.Cut(s, "/")
	if !ok || name == "" || key == "" {
		return SecretRef{}, fmt.Errorf("%q: name a Secret and its key as SECRET/KEY, such as %s", s, example)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return SecretRef{}, fmt.Errorf("secret name %q: %s", name, errs[0])
	}
	if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
		return SecretRef{}, fmt.Errorf("secret key %q: %s", key, errs[0])
	}
	return SecretRef{Name: name, Key: key}, nil
}

func parseSeverity(s string, kind ReceiverKind) ([]string, error) {
	switch s {
	case "":
		if kind == ReceiverPagerDuty {
			return []string{SeverityCritical}, nil
		}
		return []string{SeverityCritical, SeverityWarning}, nil
	case SeverityCritical, SeverityWarning:
		return []string{s}, nil
	case "all":
		return []string{SeverityCritical, SeverityWarning}, nil
	}
	return nil, fmt.Errorf("severity %q: use critical, warning or all", s)
}

// maxChannel is Slack's longest channel name, with its '#'.
const maxChannel = 81

func parseChannel(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > maxChannel || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '{' || r == '}' }) {
		return "", fmt.Errorf("channel %q: use a Slack channel name such as #team-a-alerts (no spaces, braces or control characters, at most %d characters)", s, maxChannel)
	}
	return s, nil
}

func (r *Receiver) parseEmail(to string, options map[string]string) error {
	var err error
	if r.To, err = parseAddress("email", to); err != nil {
		return err
	}
	if options["from"] == "" || options["smarthost"] == "" {
		return fmt.Errorf("email needs smarthost=HOST:PORT and from=ADDRESS, such as email=%s,smarthost=smtp.example.com:587,from=alerts@example.com", to)
	}
	if r.From, err = parseAddress("from", options["from"]); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(options["smarthost"])
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return fmt.Errorf("smarthost %q: use HOST:PORT, such as smtp.example.com:587", options["smarthost"])
	}
	if errs := validation.IsDNS1123Subdomain(strings.ToLower(host)); len(errs) > 0 && net.ParseIP(host) == nil {
		return fmt.Errorf("smarthost %q: %s", options["smarthost"], errs[0])
	}
	r.Smarthost = options["smarthost"]
	user, password := options["username"], options["password"]
	if (user == "") != (password == "") {
		return errors.New("email authentication needs both username=NAME and password=SECRET/KEY")
	}
	if user != "" {
		if strings.ContainsFunc(user, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) {
			return fmt.Errorf("username %q: no spaces or control characters", user)
		}
		r.Username = user
		if r.Secret, err = ParseSecretRef(password); err != nil {
			return err
		}
	}
	return nil
}

func parseAddress(field, s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, "{}") {
		return "", fmt.Errorf("%s %q: use a plain address such as team-a@example.com", field, s)
	}
	return s, nil
}

// Alertmanager releases a team's own Alertmanager may run: 0.25 and later releases of 0 (the
// AlertmanagerConfig features the stack uses), and 0.28 for the Microsoft Teams Workflows
// integration.
const (
	minAlertmanagerMinor     = 25
	msteamsAlertmanagerMinor = 28
)

// ParseAlertmanagerVersion accepts an Alertmanager release such as v0.35.0 or 0.35.0 and returns
// it with the leading v of the operator's image tags.
func ParseAlertmanagerVersion(s string) (string, error) {
	major, minor, ok := prometheusVersion(s)
	switch {
	case !ok:
		return "", fmt.Errorf("use an Alertmanager release such as %s", DefaultAlertmanagerVersion)
	case major != 0 || minor < minAlertmanagerMinor:
		return "", fmt.Errorf("use Alertmanager v0.%d.0 or a later v0 release, such as %s", minAlertmanagerMinor, DefaultAlertmanagerVersion)
	}
	return "v" + strings.TrimPrefix(s, "v"), nil
}

// validateAlerting checks where the alerts go against what the stack raises and whom it notifies.
func (s TeamSpec) validateAlerting() error {
	a := s.Alerting
	if s.RunbookURL != "" {
		if _, err := ParseRunbookURL(s.RunbookURL); err != nil {
			return &FieldError{Field: "runbook-url", Value: s.RunbookURL, Reason: err.Error()}
		}
	}
	switch a.Delivery {
	case DeliverNowhere:
		if len(a.Receivers) > 0 {
			return &FieldError{Field: "notify", Value: string(a.Receivers[0].Kind), Reason: "needs an Alertmanager to deliver through: add --alertmanager own, or --alertmanager NAMESPACE/NAME for the platform's"}
		}
		return nil
	case DeliverOwn:
		if len(a.Receivers) == 0 {
			return &FieldError{Field: "alertmanager", Value: AlertmanagerOwn, Reason: "an Alertmanager of the team's own needs receivers: add --notify, such as --notify slack=slack-webhook/url"}
		}
		_, minor, _ := prometheusVersion(a.AlertmanagerVersion)
		if _, err := ParseAlertmanagerVersion(a.AlertmanagerVersion); err != nil {
			return &FieldError{Field: "alertmanager-version", Value: a.AlertmanagerVersion, Reason: err.Error()}
		}
		for _, r := range a.Receivers {
			if r.Kind == ReceiverMSTeams && minor < msteamsAlertmanagerMinor {
				return &FieldError{Field: "alertmanager-version", Value: a.AlertmanagerVersion,
					Reason: fmt.Sprintf("Microsoft Teams Workflows needs Alertmanager v0.%d.0 or later", msteamsAlertmanagerMinor)}
			}
		}
	case DeliverShared:
		value := a.Namespace + "/" + a.Name
		if _, _, _, err := ParseAlertmanager(value); err != nil {
			return &FieldError{Field: "alertmanager", Value: value, Reason: err.Error()}
		}
		if errs := validation.IsDNS1035Label(a.Service); len(errs) > 0 {
			return &FieldError{Field: "alertmanager-service", Value: a.Service, Reason: errs[0]}
		}
		for k, v := range a.ConfigLabels {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return &FieldError{Field: "alertmanager-config-label", Value: k + "=" + v, Reason: errs[0]}
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return &FieldError{Field: "alertmanager-config-label", Value: k + "=" + v, Reason: errs[0]}
			}
		}
	default:
		return &FieldError{Field: "alertmanager", Value: fmt.Sprint(a.Delivery), Reason: "unknown delivery"}
	}
	if !s.Alerts {
		return &FieldError{Field: "alertmanager", Value: s.alertmanagerFlag(), Reason: "--no-alerts turns the alerts off, so there is nothing to deliver; drop one of the two"}
	}
	return nil
}

// alertmanagerFlag is the --alertmanager value that makes the spec's delivery.
func (s TeamSpec) alertmanagerFlag() string {
	switch s.Alerting.Delivery {
	case DeliverOwn:
		return AlertmanagerOwn
	case DeliverShared:
		return s.Alerting.Namespace + "/" + s.Alerting.Name
	}
	return ""
}
