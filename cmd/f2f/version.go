package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/fluttershy/face2face/internal/version"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this f2f binary",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json {
				return g.printJSON(map[string]string{"version": version.Version, "go": runtime.Version(),
					"os": runtime.GOOS, "arch": runtime.GOARCH})
			}
			fmt.Fprintf(g.out, "f2f %s (%s %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
