package plugin

import (
	"context"
	"sort"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-promteam/kubectl-promteam/pkg/kube"
)

// completionTimeout bounds cluster lookups made while the shell waits for completions.
const completionTimeout = 3 * time.Second

// registerKubeCompletions completes --context, --cluster and --user from the kubeconfig and
// --namespace from the cluster. Lookups that fail complete nothing rather than print errors.
func registerKubeCompletions(root *cobra.Command, flags *genericclioptions.ConfigFlags) {
	fromKubeconfig := func(pick func(names map[string]bool, ctx, cluster, user string)) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			raw, err := flags.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			names := map[string]bool{}
			for name, c := range raw.Contexts {
				pick(names, name, c.Cluster, c.AuthInfo)
			}
			return sortedNames(names), cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("context", fromKubeconfig(func(n map[string]bool, ctx, _, _ string) { n[ctx] = true }))
	_ = root.RegisterFlagCompletionFunc("cluster", fromKubeconfig(func(n map[string]bool, _, cluster, _ string) { n[cluster] = true }))
	_ = root.RegisterFlagCompletionFunc("user", fromKubeconfig(func(n map[string]bool, _, _, user string) { n[user] = true }))
	_ = root.RegisterFlagCompletionFunc("namespace", namespaceCompletion(flags))
}

// namespaceCompletion lists the cluster's namespaces.
func namespaceCompletion(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		cfg, err := flags.ToRESTConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg.Timeout = completionTimeout
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmdContext(cmd), completionTimeout)
		defer cancel()
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := map[string]bool{}
		for _, ns := range list.Items {
			names[ns.Name] = true
		}
		return sortedNames(names), cobra.ShellCompDirectiveNoFileComp
	}
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func sortedNames(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for n := range set {
		if n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// teamCompletion completes the first argument with the teams that have a stack in the namespace.
func teamCompletion(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		client, err := kube.NewClient(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmdContext(cmd), completionTimeout)
		defer cancel()
		stacks, err := client.ListStacks(ctx, ns, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := map[string]bool{}
		for _, s := range stacks {
			names[s.Team] = true
		}
		return sortedNames(names), cobra.ShellCompDirectiveNoFileComp
	}
}
