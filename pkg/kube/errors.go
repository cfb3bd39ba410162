package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Explain turns a failure to talk to the API server at server into an error a user can act on:
// an [*UnreachableError] when nothing answered (or nothing answered in time), a [*CredentialError]
// when the kubeconfig's credentials are refused or cannot be made, a [*CertificateError] when the
// server's certificate cannot be verified. API status errors other than 401 and every other
// error stay as they are.
func Explain(server string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var (
		explained interface{ explained() }
		status    apierrors.APIStatus
	)
	switch {
	case errors.As(err, &explained):
		return err
	case apierrors.IsUnauthorized(err):
		return &CredentialError{Server: server, Err: err}
	case errors.As(err, &status):
		return err
	case isCredentialPlugin(err):
		return &CredentialError{Server: server, Err: err, Plugin: true}
	case isCertificate(err):
		return &CertificateError{Server: server, Err: err}
	}
	var (
		u  *url.Error
		op *net.OpError
	)
	if errors.As(err, &u) || errors.As(err, &op) || errors.Is(err, context.DeadlineExceeded) {
		return &UnreachableError{Server: server, Err: err}
	}
	return err
}

// IsPermanent reports whether err is one that trying again cannot fix: credentials refused or
// not made, an unverifiable certificate, a permission the user lacks, a request the API server
// calls invalid.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var (
		cred *CredentialError
		cert *CertificateError
	)
	return errors.As(err, &cred) || errors.As(err, &cert) ||
		apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsInvalid(err) || isCredentialPlugin(err) || isCertificate(err)
}

// CredentialError says the API server refused the kubeconfig's credentials (401), or that the
// kubeconfig's credential plugin failed to make them.
type CredentialError struct {
	Server string
	Err    error
	Plugin bool // the exec credential plugin failed; nothing was sent
}

func (e *CredentialError) Error() string {
	if e.Plugin {
		return fmt.Sprintf("the kubeconfig's credential plugin failed for %s: %s; run it by hand or log in again",
			e.Server, firstLine(pluginReason(e.Err)))
	}
	return fmt.Sprintf("the Kubernetes API at %s refused the credentials (401 Unauthorized); log in again or check the user of the kubeconfig's context", e.Server)
}

func (e *CredentialError) Unwrap() error { return e.Err }
func (e *CredentialError) explained()    {}

// CertificateError says the API server's certificate could not be verified.
type CertificateError struct {
	Server string
	Err    error
}

func (e *CertificateError) Error() string {
	return fmt.Sprintf("cannot verify the certificate of the Kubernetes API at %s: %s; check the kubeconfig's certificate-authority-data",
		e.Server, firstLine(reason(e.Err)))
}

func (e *CertificateError) Unwrap() error { return e.Err }
func (e *CertificateError) explained()    {}

// TimeoutError says the API server did not answer within the command's time.
type TimeoutError struct {
	Server string
	After  time.Duration
	Flag   string // the flag that sets After, without dashes
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the Kubernetes API at %s did not answer within %s; check that the cluster is reachable, or pass a longer --%s", e.Server, e.After, e.Flag)
}

func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
func (e *TimeoutError) explained()           {}

// credentialPluginPrefix starts every error of client-go's exec credential plugin.
const credentialPluginPrefix = "getting credentials: "

func isCredentialPlugin(err error) bool {
	return strings.Contains(err.Error(), credentialPluginPrefix)
}

// pluginReason is what the credential plugin said, without client-go's request wrapping.
func pluginReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, credentialPluginPrefix); i >= 0 {
		return msg[i+len(credentialPluginPrefix):]
	}
	return msg
}

func isCertificate(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
