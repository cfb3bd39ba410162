package kube

import (
	"context"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The permission and identity questions every command asks the API server live here: whether
// the caller may do something (CanI, as `kubectl auth can-i`), whether a ServiceAccount may
// (CanServiceAccount) and who the caller is (WhoAmI, as `kubectl auth whoami`). Their errors
// are the API server's own, unwrapped, so that callers decide what a refusal means to them.

// CanI asks the API server, with a SelfSubjectAccessReview, whether the current user holds p,
// on the object called name when name is not empty. A Resource such as "pods/portforward" is
// asked as the resource pods and the subresource portforward.
func CanI(ctx context.Context, client kubernetes.Interface, p Permission, name string) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: resourceAttributes(p, name),
	}}
	res, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

// CanServiceAccount asks the API server, with a SubjectAccessReview, whether the ServiceAccount
// namespace/account holds p (on the object called name when not empty), with the user and groups
// the API server gives that account's tokens. The caller needs create on subjectaccessreviews.
func CanServiceAccount(ctx context.Context, client kubernetes.Interface, namespace, account string, p Permission, name string) (bool, error) {
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		ResourceAttributes: resourceAttributes(p, name),
		User:               "system:serviceaccount:" + namespace + ":" + account,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
	}}
	res, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

// WhoAmI returns the name the API server knows the current user by, with a SelfSubjectReview.
// A server that does not serve SelfSubjectReview (before Kubernetes 1.28) gives "" and no error;
// every other failure is returned as the API server's error.
func WhoAmI(ctx context.Context, client kubernetes.Interface) (string, error) {
	r, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.Status.UserInfo.Username, nil
}

func resourceAttributes(p Permission, name string) *authorizationv1.ResourceAttributes {
	resource, sub, _ := strings.Cut(p.Resource, "/")
	return &authorizationv1.ResourceAttributes{
		Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: resource, Subresource: sub, Name: name,
	}
}
